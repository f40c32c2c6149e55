"""Model faults on a file registry: each changes exactly what it should, and its revert restores the registry.

Reverts are also tested on a fresh fault object (what `failover heal` builds
from a journal after a crash) and through `heal_registry` (no journal).
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.faults import parse_fault
from harness.faults.model.corrupt_artifact import CorruptArtifact
from harness.faults.model.partial_copy import PartialCopy
from harness.faults.model.push_version import PushVersion
from harness.faults.model.registry_down import RegistryDown
from harness.models import outage
from harness.models.corruption import NotOnnx
from harness.models.faulty import FaultyLibrary
from harness.models.file_registry import FileRegistry, RegistryError
from harness.models.heal import heal_registry
from tests.unit.test_model_registry_helpers import make_faulty, make_registry, tree, weight_offsets


@pytest.fixture
def registry(tmp_path: Path) -> FileRegistry:
    return FileRegistry(make_registry(tmp_path / "models"))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pushed(registry: FileRegistry) -> tuple[dict, bytes]:
    """The version the champion now points at: its manifest entry and its bytes."""
    version = registry.resolve("champion")
    return registry.entry(version), (registry.root / registry.entry(version)["path"]).read_bytes()


def _others_untouched(registry: FileRegistry, before: dict) -> None:
    after = tree(registry.root)
    for name in ("v1", "v1/model.onnx", "v2", "v2/model.onnx"):
        assert after[name] == before[name]
    assert registry.aliases()["previous"] == "v1"


@pytest.mark.parametrize("mode", ["bitflip", "truncate", "garbage", "checksum"])
def test_corrupt_pushes_a_bad_copy_as_a_new_version_and_revert_restores_the_registry(
    registry: FileRegistry, mode: str
) -> None:
    before, manifest = tree(registry.root), registry.manifest_bytes()
    good = registry.artifact_bytes("v2")
    fault = CorruptArtifact(registry, "champion", mode)  # type: ignore[arg-type]
    fault.inject()
    entry, pushed = _pushed(registry)
    assert registry.resolve("champion") == "v3"
    assert entry["metrics"] == registry.entry("v2")["metrics"] and entry["format"] == "onnx"
    if mode == "checksum":
        assert pushed == good and entry["sha256"] != _sha(good)
    else:
        assert pushed != good and entry["sha256"] == _sha(good), "the manifest has the good bytes' checksum"
    _others_untouched(registry, before)
    fault.revert()
    assert registry.manifest_bytes() == manifest
    assert tree(registry.root) == before
    fault.revert()  # idempotent
    assert tree(registry.root) == before


def test_bitflip_changes_only_the_weights_signs_so_the_model_still_parses(registry: FileRegistry) -> None:
    good = registry.artifact_bytes("v2")
    CorruptArtifact(registry, "champion", "bitflip").inject()
    _, bad = _pushed(registry)
    offsets = weight_offsets(good)
    changed = [index for index, (a, b) in enumerate(zip(good, bad, strict=True)) if a != b]
    assert changed == [offset + 3 for offset in offsets], "one byte per weight: its sign bit; no tag, no length"
    for offset in offsets:
        [was] = struct.unpack_from("<f", good, offset)
        [now] = struct.unpack_from("<f", bad, offset)
        assert now == -was


def test_truncate_keeps_the_first_half_and_garbage_keeps_the_length(registry: FileRegistry, tmp_path: Path) -> None:
    good = registry.artifact_bytes("v2")
    truncate = CorruptArtifact(registry, "champion", "truncate")
    truncate.inject()
    assert _pushed(registry)[1] == good[: len(good) // 2]
    truncate.revert()
    CorruptArtifact(registry, "champion", "garbage").inject()
    assert len(_pushed(registry)[1]) == len(good)


def test_bitflip_of_an_artifact_that_is_not_onnx_is_refused_and_changes_nothing(registry: FileRegistry) -> None:
    (registry.root / "v2" / "model.onnx").write_bytes(b'{"coef": [1.5, -2.0]}')
    before = tree(registry.root)
    with pytest.raises(NotOnnx, match="needs an ONNX model"):
        CorruptArtifact(registry, "champion", "bitflip").inject()
    assert tree(registry.root) == before


@pytest.mark.parametrize("mode", ["bitflip", "truncate", "garbage"])
def test_in_place_corrupts_the_live_file_and_revert_restores_its_bytes(registry: FileRegistry, mode: str) -> None:
    before, good = tree(registry.root), registry.artifact_bytes("v2")
    fault = CorruptArtifact(registry, "champion", mode, in_place=True)  # type: ignore[arg-type]
    fault.inject()
    assert registry.resolve("champion") == "v2" and registry.versions().keys() == {"v1", "v2"}
    assert registry.artifact_bytes("v2") != good
    assert registry.entry("v2")["sha256"] == _sha(good)
    fault.revert()
    assert tree(registry.root) == before


def test_in_place_checksum_is_refused() -> None:
    with pytest.raises(ValueError, match="changes the manifest, not the file"):
        parse_fault({"at": 0, "action": "corrupt_artifact", "target": "digits", "mode": "checksum", "in_place": True})


def test_a_second_fault_on_the_same_alias_is_refused_until_the_first_is_reverted(registry: FileRegistry) -> None:
    first = CorruptArtifact(registry, "champion", "truncate")
    first.inject()
    during = tree(registry.root)
    pushed, in_place = (CorruptArtifact(registry, "champion", "garbage", in_place=flag) for flag in (False, True))
    for second in (pushed, in_place):
        with pytest.raises(RegistryError, match="already in effect"):
            second.inject()
        assert tree(registry.root) == during
    first.revert()
    CorruptArtifact(registry, "champion", "garbage").inject()


def test_a_fresh_fault_object_reverts_what_a_crashed_one_injected(registry: FileRegistry) -> None:
    before = tree(registry.root)
    CorruptArtifact(registry, "champion", "bitflip").inject()
    CorruptArtifact(FileRegistry(registry.root), "champion", "bitflip").revert()
    assert tree(registry.root) == before


def test_heal_registry_undoes_every_fault_it_carries(registry: FileRegistry, tmp_path: Path) -> None:
    before = tree(registry.root)
    CorruptArtifact(registry, "champion", "truncate").inject()
    CorruptArtifact(registry, "previous", "garbage", in_place=True).inject()
    RegistryDown(registry).inject()
    done = heal_registry(FileRegistry(registry.root))
    assert len(done) == 3, done
    assert tree(registry.root) == before
    assert heal_registry(registry) == []


def test_revert_after_a_rollback_drops_the_version_and_leaves_the_controllers_aliases(registry: FileRegistry) -> None:
    fault = PushVersion(registry, "champion", FaultyLibrary(make_faulty(registry.root.parent / "faulty")), "degraded")
    fault.inject()
    registry.set_alias("previous", "v3")  # a controller promoted it ...
    registry.set_alias("champion", "v1")  # ... then rolled the champion back to another version
    fault.revert()
    assert registry.aliases() == {"champion": "v1", "previous": "v1"}
    assert registry.versions().keys() == {"v1", "v2"} and not (registry.root / "v3").exists()


def test_push_version_records_the_artifacts_true_accuracy(registry: FileRegistry) -> None:
    library = FaultyLibrary(make_faulty(registry.root.parent / "faulty"))
    before = tree(registry.root)
    fault = PushVersion(registry, "champion", library, "degraded")
    fault.inject()
    entry, pushed = _pushed(registry)
    assert pushed == library.get("degraded").file.read_bytes()
    assert entry["metrics"] == {"accuracy": 0.48} and entry["sha256"] == _sha(pushed) and entry["format"] == "onnx"
    assert "degraded" in entry["created_from"]
    _others_untouched(registry, before)
    fault.revert()
    assert tree(registry.root) == before


def test_a_push_to_a_new_alias_creates_it_and_its_revert_removes_it(registry: FileRegistry) -> None:
    """A candidate for a canary: the alias does not exist before the push."""
    before = tree(registry.root)
    fault = PushVersion(registry, "candidate", FaultyLibrary(make_faulty(registry.root.parent / "faulty")), "degraded")
    fault.inject()
    assert registry.aliases()["candidate"] == "v3" and registry.aliases()["champion"] == "v2"
    fault.revert()
    assert tree(registry.root) == before


def test_push_of_an_artifact_without_accuracy_records_none(registry: FileRegistry) -> None:
    library = FaultyLibrary(make_faulty(registry.root.parent / "faulty"))
    PushVersion(registry, "champion", library, "crash-on-load").inject()
    assert _pushed(registry)[0]["metrics"] == {}


def test_an_unknown_faulty_artifact_says_which_exist(registry: FileRegistry) -> None:
    library = FaultyLibrary(make_faulty(registry.root.parent / "faulty"))
    before = tree(registry.root)
    with pytest.raises(BadInput) as error:
        PushVersion(registry, "champion", library, "degradd").inject()
    assert "did you mean 'degraded'?" in error.value.tip
    assert tree(registry.root) == before


def test_partial_copy_points_the_alias_at_a_version_still_being_written(registry: FileRegistry) -> None:
    before, good = tree(registry.root), registry.artifact_bytes("v2")
    fault = PartialCopy(registry, "champion", seconds=3600)
    fault.inject()
    entry, partial = _pushed(registry)
    assert entry["sha256"] == _sha(good), "the manifest has the whole artifact's checksum"
    assert 0 < len(partial) < len(good) and good.startswith(partial)
    fault.revert()
    assert tree(registry.root) == before


def test_partial_copy_ends_with_the_whole_artifact(registry: FileRegistry) -> None:
    good = registry.artifact_bytes("v2")
    fault = PartialCopy(registry, "champion", seconds=0)
    fault.inject()
    assert fault._writer is not None
    fault._writer.join()
    entry, copied = _pushed(registry)
    assert copied == good and entry["sha256"] == _sha(copied)


def test_registry_down_fails_readers_and_writers_and_revert_restores_it_exactly(registry: FileRegistry) -> None:
    before = tree(registry.root, with_times=True)
    fault = RegistryDown(registry)
    fault.inject()
    for read in (registry.read_manifest, lambda: registry.artifact_bytes("v2")):
        with pytest.raises(RegistryError):
            read()
    with pytest.raises(IsADirectoryError):
        (registry.root / "manifest.json").read_bytes()
    assert not (registry.root / "v2" / "model.onnx").exists()
    with pytest.raises(RegistryError, match="cannot write the registry manifest"):
        registry.write_manifest({"schema_version": 2, "aliases": {}, "versions": {}})
    (registry.root / "v9").mkdir()  # a writer's half-made version, while down
    fault.revert()
    assert tree(registry.root, with_times=True) == before
    assert not outage.aside(registry).exists()
    fault.revert()  # idempotent


def test_an_alias_fault_is_not_reverted_while_the_registry_is_down(registry: FileRegistry) -> None:
    push = CorruptArtifact(registry, "champion", "truncate")
    push.inject()
    RegistryDown(registry).inject()
    with pytest.raises(RegistryError, match="is down"):
        push.revert()


def test_undo_records_are_kept_in_the_registry_until_reverted(registry: FileRegistry) -> None:
    fault = CorruptArtifact(registry, "champion", "checksum")
    fault.inject()
    record = json.loads((registry.root / ".failover" / "undo" / "alias-champion.json").read_text())
    assert record["kind"] == "push" and record["version"] == "v3" and record["before"] == "v2"
    fault.revert()
    assert not (registry.root / ".failover").exists()



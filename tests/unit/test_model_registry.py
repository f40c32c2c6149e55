"""The file registry: reading, aliases, versions, atomic writes, and the per-stack copy of fixtures/models."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from harness.models import stack_registry
from harness.models.file_registry import FileRegistry, RegistryError
from harness.stack import StackSettings
from tests.unit.test_model_registry_helpers import make_registry, tree

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(tmp_path: Path) -> FileRegistry:
    return FileRegistry(make_registry(tmp_path / "models"))


def test_reads_aliases_versions_and_artifacts(registry: FileRegistry) -> None:
    assert registry.aliases() == {"champion": "v2", "previous": "v1"}
    assert registry.resolve("champion") == "v2"
    data = registry.artifact_bytes("v2")
    assert hashlib.sha256(data).hexdigest() == registry.entry("v2")["sha256"]
    assert registry.next_version() == "v3"


def test_unknown_alias_names_the_known_ones(registry: FileRegistry) -> None:
    with pytest.raises(RegistryError, match="no alias 'champoin' .aliases: champion, previous"):
        registry.resolve("champoin")


def test_an_artifact_path_leaving_the_registry_is_refused(registry: FileRegistry) -> None:
    manifest = registry.read_manifest()
    manifest["versions"]["v1"]["path"] = "../../etc/passwd"
    registry.write_manifest(manifest)
    with pytest.raises(RegistryError, match="leaves the registry"):
        registry.artifact_bytes("v1")


def test_add_version_records_its_checksum_and_metrics_then_remove_drops_it(registry: FileRegistry) -> None:
    version = registry.add_version(b"new bytes", metrics={"accuracy": 0.5}, format="onnx")
    entry = registry.entry(version)
    assert version == "v3"
    assert entry["sha256"] == hashlib.sha256(b"new bytes").hexdigest()
    assert entry["metrics"] == {"accuracy": 0.5} and entry["format"] == "onnx"
    assert registry.artifact_bytes(version) == b"new bytes"
    registry.remove_version(version)
    assert version not in registry.versions() and not (registry.root / version).exists()


def test_a_version_an_alias_points_at_is_not_removed(registry: FileRegistry) -> None:
    with pytest.raises(RegistryError, match="champion point at it"):
        registry.remove_version("v2")
    assert (registry.root / "v2" / "model.onnx").exists()


def test_set_and_delete_alias(registry: FileRegistry) -> None:
    registry.set_alias("champion", "v1")
    registry.delete_alias("previous")
    assert registry.aliases() == {"champion": "v1"}
    with pytest.raises(RegistryError, match="no such version"):
        registry.set_alias("champion", "v9")


def test_the_manifest_is_replaced_in_one_rename_from_a_file_in_its_folder(
    registry: FileRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(source: str, target: str) -> None:
        renames.append((str(source), str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    registry.set_alias("champion", "v1")
    [(source, target)] = renames
    assert Path(source).parent == registry.root and target == str(registry.manifest_path)
    assert sorted(path.name for path in registry.root.iterdir()) == ["manifest.json", "v1", "v2"], "no temporary left"


def test_a_write_that_dies_before_the_rename_leaves_the_old_manifest_whole(
    registry: FileRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(registry.root)

    def crash(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(RegistryError, match="No space left"):
        registry.set_alias("champion", "v1")
    assert tree(registry.root) == before


def test_each_stack_gets_a_private_copy_of_the_fixtures_registry(isolated_state: Path) -> None:
    settings = StackSettings(project="failover-copy")
    fixtures = tree(REPO / "fixtures" / "models", with_times=True)
    settings.provision_registry(fresh=True)
    copy = settings.registry_dir
    assert settings.environment()["FAILOVER_REGISTRY"] == str(copy)
    assert copy.is_relative_to(isolated_state) and copy.parent.name == "failover-copy"
    assert {name: content for name, (content, _, _) in tree(copy).items()} == {
        name: content for name, (content, _, _) in fixtures.items()
    }
    assert all(mode & 0o077 == 0 for _, mode, _ in tree(copy).values()), "private, like the rest of the state dir"
    FileRegistry(copy).set_alias("champion", "v3")
    assert tree(REPO / "fixtures" / "models", with_times=True) == fixtures


def test_a_running_stack_keeps_its_registry_and_down_removes_it(isolated_state: Path) -> None:
    settings = StackSettings(project="failover-keep")
    settings.provision_registry(fresh=True)
    FileRegistry(settings.registry_dir).set_alias("champion", "v3")
    settings.provision_registry(fresh=False)
    assert FileRegistry(settings.registry_dir).resolve("champion") == "v3"
    settings.provision_registry(fresh=True)
    assert FileRegistry(settings.registry_dir).resolve("champion") == "v2"
    settings.discard_registry()
    assert not stack_registry.registry_home("failover-keep").exists()


def test_a_stack_without_a_seed_gets_an_empty_registry(isolated_state: Path, tmp_path: Path) -> None:
    settings = StackSettings(project="failover-empty", fixtures_dir=tmp_path / "no-fixtures")
    settings.provision_registry(fresh=True)
    assert list(settings.registry_dir.iterdir()) == []


def test_the_compose_file_points_the_model_servers_at_the_stacks_registry(isolated_state: Path) -> None:
    settings = StackSettings(project="failover-mounts")
    spec = settings.load_spec()
    model = spec.services["model-a"]
    assert model.environment["REGISTRY_DIR"] == "/registry"
    [mount] = [mount for mount in model.mounts if mount.target == "/registry"]
    assert mount.source == settings.registry_dir and not mount.read_only
    assert all(mount.read_only for mount in model.mounts if mount.source == (REPO / "fixtures").resolve())

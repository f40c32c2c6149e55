"""The guardian's decisions on synthetic probe results, against a real manifest file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from guardian.config import Address, Settings, Thresholds, Timing
from guardian.controller import Guardian
from guardian.events import EventLog
from guardian.registry import FileRegistry, RegistryUnavailable, read_manifest
from guardian.weights import WeightShifter
from guardian.window import Sample, SampleWindows

ACCURACY = {"v1": 0.905, "v2": 0.98, "v3": 0.475}
REPLICAS = ("model-a", "model-b")


def write_manifest(directory: Path, aliases: dict[str, str], at: float = 0.0) -> None:
    """The manifest as a deploy writes it, replaced at time `at` (its mtime: when the aliases moved)."""
    versions = {
        name: {"path": f"{name}/model.onnx", "sha256": "0" * 64, "format": "onnx", "metrics": {"accuracy": accuracy}}
        for name, accuracy in ACCURACY.items()
    }
    manifest = {"schema_version": 2, "model": "digits", "aliases": aliases, "versions": versions}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    os.utime(directory / "manifest.json", (at, at))


class FlakyRegistry(FileRegistry):
    """The file registry, refusing its first `failures` writes (a registry that is down)."""

    def __init__(self, directory: Path, failures: int) -> None:
        super().__init__(directory)
        self.failures = failures

    def update(self, change):  # type: ignore[no-untyped-def]
        if self.failures > 0:
            self.failures -= 1
            raise RegistryUnavailable("registry down (test)")
        return super().update(change)


def make_guardian(tmp_path: Path, aliases: dict[str, str], failures: int = 0, **limits: float) -> Guardian:
    write_manifest(tmp_path, aliases)
    settings = Settings(
        listen=Address("127.0.0.1", 0),
        registry_dir=tmp_path,
        validation_file=tmp_path / "unused.jsonl",
        replicas={name: Address("127.0.0.1", 1) for name in REPLICAS},
        canary_replica="model-b",
        runtime_api=None,
        haproxy_backend="models",
        thresholds=Thresholds(**limits),  # type: ignore[arg-type]
        timing=Timing(),
    )
    windows = SampleWindows(settings.timing.window_s, settings.timing.window_samples)
    registry = FlakyRegistry(tmp_path, failures)
    shifter = WeightShifter(None, list(REPLICAS), "model-b", settings.timing.canary_weight)
    return Guardian(settings, registry, windows, EventLog(), shifter)


def feed(
    guardian: Guardian, version: str, accuracy: float, t: float, replicas: tuple[str, ...] = REPLICAS, n: int = 20
) -> None:
    """n probe results per replica at time t, `accuracy` of them right."""
    for replica in replicas:
        for i in range(n):
            guardian.windows.add(Sample(t, replica, version, True, i < round(accuracy * n), 0.01))


def aliases(tmp_path: Path) -> dict[str, str]:
    return read_manifest(tmp_path).aliases


def kinds(guardian: Guardian) -> list[str]:
    return [event["kind"] for event in guardian.events.all()]


def test_a_bad_champion_is_rolled_back_to_the_last_good_version_and_verified(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v2", "previous": "v1"})
    feed(guardian, "v2", 1.0, t=100.0)
    guardian.tick(100.1)
    assert guardian.memory.last_good == "v2" and kinds(guardian) == []
    write_manifest(tmp_path, {"champion": "v3", "previous": "v1"}, at=100.5)
    feed(guardian, "v3", 0.45, t=101.0)
    guardian.tick(101.1)
    assert aliases(tmp_path) == {"champion": "v2", "previous": "v1"}
    assert kinds(guardian) == ["detect", "decide", "rollback"]
    decide = guardian.events.all()[1]
    assert decide["version"] == "v3" and decide["evidence"]["to"] == "v2"
    assert decide["evidence"]["window"]["accuracy"] == pytest.approx(0.45)
    assert decide["evidence"]["thresholds"]["min_accuracy"] == 0.75
    feed(guardian, "v2", 1.0, t=101.5, replicas=("model-a",), n=1)
    guardian.tick(101.6)
    assert "verified" not in kinds(guardian)
    feed(guardian, "v2", 1.0, t=101.7, replicas=("model-b",), n=1)
    guardian.follow_up(101.8)  # between evaluations
    verified = guardian.events.all()[-1]
    assert verified["kind"] == "verified" and verified["version"] == "v2"
    assert verified["evidence"]["replicas"] == {"model-a": "v2", "model-b": "v2"}


def test_without_a_version_proven_good_the_rollback_goes_to_previous(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v3", "previous": "v1"})
    feed(guardian, "v3", 0.45, t=100.0)
    guardian.tick(100.1)
    assert aliases(tmp_path)["champion"] == "v1"


def test_a_good_champion_is_left_alone(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v1", "previous": "v2"})
    feed(guardian, "v1", 0.85, t=100.0)
    guardian.tick(100.1)
    assert aliases(tmp_path)["champion"] == "v1" and kinds(guardian) == []


def test_failure_threshold_needs_consecutive_bad_evaluations(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v3", "previous": "v2"}, failure_threshold=3)
    feed(guardian, "v3", 0.45, t=100.0)
    guardian.tick(100.1)
    guardian.tick(100.2)
    assert aliases(tmp_path)["champion"] == "v3" and kinds(guardian) == ["detect"]
    guardian.tick(100.3)
    assert aliases(tmp_path)["champion"] == "v2" and kinds(guardian) == ["detect", "decide", "rollback"]


def test_an_unavailable_registry_is_retried_and_reported(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v3", "previous": "v2"}, failures=2)
    feed(guardian, "v3", 0.45, t=100.0)
    guardian.tick(100.0)
    assert kinds(guardian) == ["detect", "decide", "registry_unavailable"]
    assert guardian.events.all()[-1]["evidence"]["action"] == "rollback"
    guardian.tick(100.1)  # before the retry interval: no attempt
    guardian.tick(100.6)  # second failure
    assert aliases(tmp_path)["champion"] == "v3"
    guardian.tick(101.2)
    assert aliases(tmp_path)["champion"] == "v2"
    rollback = guardian.events.all()[-1]
    assert rollback["kind"] == "rollback" and rollback["evidence"]["attempts"] == 3


def test_a_rollback_that_no_longer_applies_is_not_written(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v3", "previous": "v2"}, failures=1)
    feed(guardian, "v3", 0.45, t=100.0)
    guardian.tick(100.0)
    write_manifest(tmp_path, {"champion": "v1", "previous": "v2"})  # an operator moved it meanwhile
    guardian.tick(101.0)
    assert aliases(tmp_path)["champion"] == "v1"
    assert "rollback" not in kinds(guardian) and guardian.pending is None


def test_a_bad_candidate_is_canaried_then_rolled_back(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v2", "previous": "v1", "candidate": "v3"})
    guardian.tick(100.0)
    assert aliases(tmp_path)["canary"] == "v3" and kinds(guardian) == ["canary"]
    feed(guardian, "v2", 1.0, t=100.5, replicas=("model-a",))
    feed(guardian, "v3", 0.45, t=100.5, replicas=("model-b",))
    guardian.tick(100.6)
    assert aliases(tmp_path) == {"champion": "v2", "previous": "v1"}
    assert kinds(guardian) == ["canary", "detect", "decide", "rollback"]
    assert guardian.events.all()[2]["evidence"]["action"] == "rollback"
    feed(guardian, "v2", 1.0, t=100.8, replicas=("model-b",), n=1)
    guardian.tick(100.9)
    assert guardian.events.all()[-1]["kind"] == "verified"
    assert guardian.events.all()[-1]["evidence"]["replicas"] == {"model-b": "v2"}


def test_a_good_candidate_is_promoted_after_the_minimum_analysis(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v1", "candidate": "v2"})
    guardian.tick(100.0)
    feed(guardian, "v1", 0.9, t=100.5, replicas=("model-a",))
    feed(guardian, "v2", 1.0, t=100.5, replicas=("model-b",), n=guardian.settings.thresholds.prove_samples)
    guardian.tick(100.6)
    assert "canary" in aliases(tmp_path) and "promote" not in kinds(guardian)
    guardian.tick(100.0 + guardian.settings.timing.canary_min_s + 0.1)
    assert aliases(tmp_path) == {"champion": "v2", "previous": "v1"}
    assert kinds(guardian) == ["canary", "decide", "promote"]
    feed(guardian, "v2", 1.0, t=103.0, n=1)
    guardian.tick(103.1)
    assert guardian.events.all()[-1]["kind"] == "verified"


def test_a_canary_without_enough_samples_times_out_into_a_rollback(tmp_path: Path) -> None:
    guardian = make_guardian(tmp_path, {"champion": "v2", "candidate": "v3"})
    guardian.tick(100.0)
    guardian.tick(100.0 + guardian.settings.timing.canary_timeout_s + 1)
    assert aliases(tmp_path) == {"champion": "v2"}
    assert "only 0 samples of v3" in guardian.events.all()[1]["evidence"]["why"]


def take_down(registry: Path) -> None:
    """The registry as harness/models/outage.py takes it down: manifest.json a non-empty folder."""
    aside = registry.parent / "aside"
    aside.mkdir()
    (registry / "manifest.json").rename(aside / "manifest.json")
    (registry / "manifest.json").mkdir()
    (registry / "manifest.json" / "REGISTRY-DOWN").write_text("down\n")


def bring_back(registry: Path) -> None:
    (registry / "manifest.json" / "REGISTRY-DOWN").unlink()
    (registry / "manifest.json").rmdir()
    (registry.parent / "aside" / "manifest.json").rename(registry / "manifest.json")


def test_a_registry_down_during_a_rollback_delays_it_and_says_so(tmp_path: Path) -> None:
    registry = tmp_path / "models"
    registry.mkdir()
    guardian = make_guardian(registry, {"champion": "v2", "previous": "v1"})
    feed(guardian, "v2", 1.0, t=100.0)
    guardian.tick(100.0)
    write_manifest(registry, {"champion": "v3", "previous": "v1"}, at=100.5)
    guardian.tick(100.5)  # reads the push
    take_down(registry)
    feed(guardian, "v3", 0.45, t=101.0)
    guardian.tick(101.0)
    assert kinds(guardian) == ["detect", "decide", "registry_unavailable"]
    assert "manifest.json" in guardian.events.all()[-1]["evidence"]["error"]
    guardian.tick(101.5)
    assert guardian.pending is not None and not list(registry.glob(".manifest-*"))  # no temp file left behind
    bring_back(registry)
    guardian.follow_up(102.0)
    assert aliases(registry)["champion"] == "v2"
    assert kinds(guardian)[-1] == "rollback" and guardian.events.all()[-1]["evidence"]["attempts"] == 3


def test_a_lucky_first_window_of_a_bad_push_does_not_make_it_a_rollback_target(tmp_path: Path) -> None:
    """Found on the real stack: v3's first 20 probes read 65 %, which is not bad yet, but must not prove it good."""
    guardian = make_guardian(tmp_path, {"champion": "v2", "previous": "v1"})
    feed(guardian, "v2", 1.0, t=100.0)
    guardian.tick(100.1)
    write_manifest(tmp_path, {"champion": "v3", "previous": "v1"}, at=100.5)
    feed(guardian, "v3", 0.65, t=101.0, n=10)
    guardian.tick(101.1)
    assert kinds(guardian) == [] and "v3" not in guardian.memory.good
    feed(guardian, "v3", 0.3, t=101.5, n=10)
    guardian.tick(101.6)
    assert aliases(tmp_path)["champion"] == "v2"


def test_samples_from_before_a_push_are_not_evidence_about_it(tmp_path: Path) -> None:
    """Found by the benchmark: the tail of v3's previous push counted towards detecting the next one."""
    guardian = make_guardian(tmp_path, {"champion": "v2", "previous": "v1"})
    feed(guardian, "v3", 0.45, t=100.0, n=15)  # an earlier push of v3, rolled back
    write_manifest(tmp_path, {"champion": "v3", "previous": "v1"}, at=101.0)
    feed(guardian, "v3", 0.45, t=101.5, n=5)
    guardian.tick(101.6)
    assert kinds(guardian) == []
    feed(guardian, "v3", 0.45, t=101.8, n=5)
    guardian.tick(101.9)
    assert kinds(guardian) == ["detect", "decide", "rollback"]
    assert guardian.events.all()[0]["evidence"]["window"]["samples"] == 20


def test_a_push_right_after_a_rollback_is_judged_on_its_own_samples(tmp_path: Path) -> None:
    """Found by the benchmark: pushed again before the guardian read its own rollback, v3 was judged on the old tail."""
    guardian = make_guardian(tmp_path, {"champion": "v3", "previous": "v2"})
    feed(guardian, "v3", 0.45, t=100.0)
    guardian.tick(100.1)
    assert aliases(tmp_path)["champion"] == "v2"
    rolled_back_t = guardian.events.all()[-1]["t"]
    feed(guardian, "v3", 0.45, t=rolled_back_t + 0.01)  # the replicas' last answers before they reload
    write_manifest(tmp_path, {"champion": "v3", "previous": "v2"}, at=rolled_back_t + 0.2)
    guardian.tick(rolled_back_t + 0.3)
    assert kinds(guardian) == ["detect", "decide", "rollback"]

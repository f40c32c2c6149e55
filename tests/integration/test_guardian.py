"""The rollout guardian in the reference stack: real HAProxy, model servers, registry files.

The manifest is edited the way a deploy does (whole file, temp + os.replace);
the model servers follow their aliases by hot reload; the guardian decides.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.stack import Stack, StackSettings, open_stack
from harness.targets.reference import ReferenceTarget
from tests.conftest import REPO, docker_available, local_binaries_available, require
from tests.integration.stack_checks import wait_for

pytestmark = pytest.mark.integration
PROJECT = "failover-test-guardian"
REPLICAS = ("model-a", "model-b")
DECISION_TIMEOUT_S = 60  # a deadline for the failure message, not a measurement


@pytest.fixture(scope="module", params=["local", "compose"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if request.param == "compose":
        require(docker_available(), "Docker engine not reachable (as root: bash compose/setup/docker.sh)")
    require(local_binaries_available(), "haproxy/redis/toxiproxy-server missing (run: make setup)")
    root = tmp_path_factory.mktemp(request.param)
    fixtures = root / "fixtures"
    shutil.copytree(REPO / "fixtures", fixtures, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAILOVER_STATE_DIR", str(root / "state"))
        settings = StackSettings(project=PROJECT, fixtures_dir=fixtures)
        stack = open_stack(request.param, settings)
        ReferenceTarget(settings).bring_up(stack, progress=False, timeout_s=240)
        try:
            yield stack
        finally:
            stack.down()


def registry(stack: Stack) -> Path:
    return stack.settings.registry_dir


def set_aliases(stack: Stack, **aliases: str | None) -> None:
    """Move aliases as a deploy does: the whole manifest replaced atomically (None deletes)."""
    path = registry(stack) / "manifest.json"
    manifest = json.loads(path.read_text())
    for name, version in aliases.items():
        manifest["aliases"].pop(name, None) if version is None else manifest["aliases"].__setitem__(name, version)
    fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle)
    os.chmod(temp, 0o644)
    os.replace(temp, path)


def current_aliases(stack: Stack) -> dict[str, str]:
    return json.loads((registry(stack) / "manifest.json").read_text())["aliases"]


def guardian_url(stack: Stack) -> str:
    host, port = stack.endpoints().address("guardian")
    return f"http://{host}:{port}"


def events_since(stack: Stack, t0: float) -> list[dict[str, Any]]:
    events = httpx.get(f"{guardian_url(stack)}/events", timeout=2).json()
    return [event for event in events if event["t"] >= t0]


def wait_for_event(stack: Stack, t0: float, kind: str) -> list[dict[str, Any]]:
    """The events since t0, once one of `kind` is among them."""
    found: list[dict[str, Any]] = []

    def seen() -> bool:
        found[:] = events_since(stack, t0)
        return any(event["kind"] == kind for event in found)

    wait_for(seen, DECISION_TIMEOUT_S, f"a '{kind}' event from the guardian", poll_s=0.2)
    return found


def served_versions(stack: Stack) -> dict[str, str]:
    """X-Model-Version of a golden request sent to each replica directly."""
    golden = json.loads((stack.settings.fixtures_dir / "requests" / "validation.jsonl").read_text().splitlines()[0])
    versions = {}
    for replica in REPLICAS:
        host, port = stack.endpoints().address(replica)
        response = httpx.post(f"http://{host}:{port}/predict", json={"features": golden["features"]}, timeout=2)
        versions[replica] = response.headers["X-Model-Version"]
    return versions


def weights(stack: Stack) -> dict[str, int]:
    """The gateway's current weight per server of the models backend (HAProxy's stats CSV)."""
    text = httpx.get(f"{stack.endpoints().stats_url}/stats;csv;norefresh", timeout=2).text
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return {
        row["svname"]: int(row["weight"]) for row in rows if row["pxname"] == "models" and row["svname"] in REPLICAS
    }


def champion_proved_good(stack: Stack, version: str) -> None:
    def good() -> bool:
        health = httpx.get(f"{guardian_url(stack)}/health", timeout=2).json()
        return version in health["good_versions"] and not health["verifying"] and health["canary"] is None

    wait_for(good, DECISION_TIMEOUT_S, f"the guardian to prove {version} good")


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["kind"] for event in events]


def test_a_bad_champion_push_is_rolled_back_and_verified_on_every_replica(stack: Stack) -> None:
    champion_proved_good(stack, "v2")
    t0 = time.time()
    set_aliases(stack, champion="v3")
    events = wait_for_event(stack, t0, "verified")
    assert kinds(events) == ["detect", "decide", "rollback", "verified"]
    detect, decide, rollback, verified = events
    assert detect["version"] == decide["version"] == rollback["version"] == "v3"
    window = decide["evidence"]["window"]
    assert window["samples"] >= decide["evidence"]["thresholds"]["min_samples"]
    assert window["accuracy_upper"] < decide["evidence"]["thresholds"]["min_accuracy"]
    assert (decide["evidence"]["from"], decide["evidence"]["to"]) == ("v3", "v2")
    assert verified["version"] == "v2" and verified["evidence"]["replicas"] == {"model-a": "v2", "model-b": "v2"}
    assert current_aliases(stack)["champion"] == "v2"
    assert served_versions(stack) == {"model-a": "v2", "model-b": "v2"}


def test_a_bad_candidate_is_canaried_on_a_share_of_traffic_then_rolled_back(stack: Stack) -> None:
    champion_proved_good(stack, "v2")
    before = weights(stack)
    t0 = time.time()
    set_aliases(stack, candidate="v3")
    wait_for_event(stack, t0, "canary")
    assert current_aliases(stack)["canary"] == "v3"
    shifted = weights(stack)
    events = wait_for_event(stack, t0, "verified")
    assert kinds(events) == ["canary", "detect", "decide", "rollback", "verified"]
    assert shifted["model-b"] < shifted["model-a"], shifted
    assert events[2]["evidence"]["action"] == "rollback"
    evidence = events[2]["evidence"]
    assert any(reason.startswith("accuracy below") for reason in evidence["reasons"]), evidence
    assert events[-1]["evidence"]["replicas"] == {"model-b": "v2"}
    assert "canary" not in current_aliases(stack) and "candidate" not in current_aliases(stack)
    assert weights(stack) == before


def test_a_better_candidate_is_promoted(stack: Stack) -> None:
    set_aliases(stack, champion="v1", previous="v2")
    champion_proved_good(stack, "v1")
    t0 = time.time()
    set_aliases(stack, candidate="v2")
    events = wait_for_event(stack, t0, "verified")
    assert kinds(events) == ["canary", "decide", "promote", "verified"]
    assert events[1]["evidence"]["action"] == "promote" and events[1]["evidence"]["window"]["accuracy"] >= 0.9
    assert current_aliases(stack) == {"champion": "v2", "previous": "v1"}
    assert served_versions(stack) == {"model-a": "v2", "model-b": "v2"}

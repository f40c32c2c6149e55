"""Canary weights through the gateway's real HAProxy config and its runtime API socket."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from guardian.config import Address
from guardian.haproxy import RuntimeApi, RuntimeApiError, canary_weights
from guardian.weights import WeightShifter

from harness.stack.spec import load_stack_spec
from tests.conftest import REPO, require
from tests.integration._procs import HOST, Proc, free_port

pytestmark = pytest.mark.integration
SERVERS = ["model-a", "model-b"]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[RuntimeApi]:
    """HAProxy running compose/gateway/haproxy.cfg on free ports (its servers need not exist)."""
    require(shutil.which("haproxy") is not None, "haproxy missing (run: make setup)")
    port = free_port()
    declared = load_stack_spec(REPO / "compose" / "docker-compose.yml", os.environ).services["gateway"].environment
    env = {
        **os.environ,
        **{name: value for name, value in declared.items() if name.startswith("GW_")},  # the tuned timings
        "GATEWAY_BIND": f"{HOST}:{free_port()}",
        "STATS_BIND": f"{HOST}:{free_port()}",
        "RUNTIME_API_BIND": f"{HOST}:{port}",
        **{name: f"{HOST}:{free_port()}" for name in ("MODEL_A_ADDR", "MODEL_B_ADDR", "MODEL_FALLBACK_ADDR")},
    }
    proc = Proc(
        ["haproxy", "-db", "-f", str(REPO / "compose" / "gateway" / "haproxy.cfg")], tmp_path, "haproxy", env=env
    )
    api = RuntimeApi(Address(HOST, port), "models")
    try:
        proc.await_ready(lambda: _answers(api), 10, "HAProxy's runtime API")
        yield api
    finally:
        proc.stop()


def _answers(api: RuntimeApi) -> bool:
    try:
        return api.weight("model-b") == (1, 1)
    except RuntimeApiError:
        return False


def test_canary_weights_are_set_and_the_initial_weights_restored(api: RuntimeApi) -> None:
    shifter = WeightShifter(api, SERVERS, "model-b", share=0.2)
    evidence = shifter.shift()
    assert evidence["weights"] == {"model-a": 100, "model-b": 25}
    assert (api.weight("model-a"), api.weight("model-b")) == ((100, 1), (25, 1))
    assert shifter.restore() == {"weights_restored": {"model-a": 1, "model-b": 1}}
    assert (api.weight("model-a"), api.weight("model-b")) == ((1, 1), (1, 1))


def test_an_unknown_server_is_refused_with_haproxys_answer(api: RuntimeApi) -> None:
    with pytest.raises(RuntimeApiError, match="No such server"):
        api.set_weight("model-c", 10)


def test_canary_share_is_split_against_every_other_server() -> None:
    assert canary_weights(["a", "b", "c"], "c", 0.2) == {"a": 100, "b": 100, "c": 50}
    assert canary_weights(["a", "b"], "b", 0.9) == {"a": 100, "b": 256}


def test_a_runtime_api_nobody_listens_on_is_an_error() -> None:
    with pytest.raises(RuntimeApiError, match="runtime API"):
        RuntimeApi(Address(HOST, free_port()), "models", timeout_s=0.5).weight("model-b")


def test_weights_a_killed_guardian_left_shifted_are_restored_by_the_next_one(api: RuntimeApi) -> None:
    WeightShifter(api, SERVERS, "model-b", share=0.2).shift()  # its guardian dies mid-canary
    WeightShifter(api, SERVERS, "model-b", share=0.2).retry()  # a new guardian, no canary running
    assert (api.weight("model-a"), api.weight("model-b")) == ((1, 1), (1, 1))

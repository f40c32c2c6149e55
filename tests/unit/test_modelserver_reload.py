"""The reloader against a real registry directory and real onnxruntime:
what it swaps in, what it refuses, and when it tries again."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from modelserver.config import Settings
from modelserver.model import OnnxModel
from modelserver.registry import set_alias
from modelserver.reload import Loaded, Reloader

from tests.registry_push import push

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODELS = FIXTURES / "models"
FAULTY = FIXTURES / "faulty"
VALIDATION = FIXTURES / "requests" / "validation.jsonl"


class Recorder:
    def __init__(self) -> None:
        self.outcomes: list[str] = []
        self.swaps: list[str] = []

    def outcome(self, outcome: str) -> None:
        self.outcomes.append(outcome)

    def swap(self, loaded: Loaded) -> None:
        self.swaps.append(loaded.version)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MODELS, tmp_path / "models"))


def make_reloader(registry: Path, aliases: str = "champion") -> tuple[Reloader, Recorder]:
    settings = Settings.from_env(
        {
            "SERVER_NAME": "model-a",
            "LISTEN": "127.0.0.1:1",
            "REGISTRY_DIR": str(registry),
            "VALIDATION_FILE": str(VALIDATION),
            "SENTINELS": "127.0.0.1:1",
            "MODEL_ALIAS": aliases,
        }
    )
    recorder = Recorder()
    return Reloader(settings, recorder.outcome, recorder.swap), recorder


def step(reloader: Reloader) -> None:
    asyncio.run(reloader.step())


def v2_bytes() -> bytes:
    return (MODELS / "v2" / "model.onnx").read_bytes()


def test_first_poll_loads_the_alias_and_a_moved_alias_swaps(registry: Path) -> None:
    reloader, recorder = make_reloader(registry)
    step(reloader)
    assert reloader.current is not None and reloader.current.version == "v2"
    step(reloader)  # nothing changed: no second load
    set_alias(registry, "champion", "v1")
    step(reloader)
    assert reloader.current.version == "v1"
    assert (recorder.swaps, recorder.outcomes, reloader.error) == (["v2", "v1"], ["ok", "ok"], None)


def test_canary_wins_while_set_and_champion_returns_when_deleted(registry: Path) -> None:
    reloader, recorder = make_reloader(registry, "canary,champion")
    step(reloader)
    set_alias(registry, "canary", "v3")
    step(reloader)
    assert (reloader.current.version, reloader.current.alias) == ("v3", "canary")
    set_alias(registry, "canary", None)
    step(reloader)
    assert recorder.swaps == ["v2", "v3", "v2"]


def test_corrupted_artifact_is_refused_and_the_old_model_stays(registry: Path) -> None:
    """Bit flip among the weights, truncated, and a checksum that matches neither."""
    reloader, recorder = make_reloader(registry)
    step(reloader)
    data = bytearray(v2_bytes())
    data[len(data) // 2] ^= 0x10
    push(registry, "v4", bytes(data[: len(data) - 64]), 0.98, sha256="0" * 64)
    set_alias(registry, "champion", "v4")
    step(reloader)
    assert reloader.current.version == "v2"
    assert "model load of v4 failed" in reloader.error and "sha256 mismatch" in reloader.error
    step(reloader)
    step(reloader)  # same manifest, same file: not tried again
    assert recorder.outcomes == ["ok", "failed"]


def weights_flipped(data: bytes) -> bytes:
    """v2 with the sign bit of its first 200 coefficients flipped: a valid
    protobuf, as a flip inside the weights leaves it, that predicts worse.
    AttributeProto.floats is an unpacked proto2 field: a tag byte, then 4 bytes per float."""
    coefficients = next(
        attribute.floats
        for node in onnx.load_from_string(data).graph.node
        for attribute in node.attribute
        if attribute.name == "coefficients"
    )
    tag = b"\x3d"  # field 7 (floats), wire type 5 (32-bit)
    encoded = b"".join(tag + value.tobytes() for value in np.asarray(coefficients[:200], dtype=np.float32))
    start = data.index(encoded)
    flipped = bytearray(data)
    for index in range(200):
        flipped[start + 5 * index + 4] ^= 0x80
    return bytes(flipped)


def test_flipped_weights_with_a_matching_checksum_load_but_fail_the_self_check(registry: Path) -> None:
    """The runtime accepts flipped weights; only the labelled self-check stands between them and traffic."""
    reloader, _ = make_reloader(registry)
    step(reloader)
    data = weights_flipped(v2_bytes())
    OnnxModel.from_bytes(data)  # the runtime has no objection
    push(registry, "v4", data, 0.98)
    set_alias(registry, "champion", "v4")
    step(reloader)
    assert reloader.current.version == "v2"
    assert "self-check failed" in reloader.error


@pytest.mark.parametrize(
    ("fault", "reason"), [("crash-on-load", "not a registered function/op"), ("nan", "non-finite")]
)
def test_crash_on_load_and_nan_artifacts_are_refused(registry: Path, fault: str, reason: str) -> None:
    reloader, _ = make_reloader(registry)
    step(reloader)
    push(registry, "v4", (FAULTY / f"{fault}.onnx").read_bytes(), 0.98)
    set_alias(registry, "champion", "v4")
    step(reloader)
    assert reloader.current.version == "v2"
    assert reason in reloader.error


def test_a_partial_copy_is_refused_then_loads_once_completed(registry: Path) -> None:
    reloader, recorder = make_reloader(registry)
    step(reloader)
    full = (MODELS / "v1" / "model.onnx").read_bytes()
    path = push(registry, "v4", full[: len(full) // 3], 0.905, sha256=hashlib.sha256(full).hexdigest())
    set_alias(registry, "champion", "v4")
    step(reloader)
    assert reloader.current.version == "v2" and "sha256 mismatch" in reloader.error
    with path.open("ab") as out:
        out.write(full[len(full) // 3 :])
    step(reloader)
    assert reloader.current.version == "v4" and reloader.error is None
    assert recorder.outcomes == ["ok", "failed", "ok"]


def test_a_bad_artifact_at_first_start_leaves_no_model(registry: Path) -> None:
    (registry / "v2" / "model.onnx").write_bytes(v2_bytes()[:1000])
    reloader, recorder = make_reloader(registry)
    step(reloader)
    assert reloader.current is None and "sha256 mismatch" in reloader.error
    assert recorder.swaps == []


def test_an_unreadable_manifest_keeps_the_model_and_says_why(registry: Path) -> None:
    reloader, recorder = make_reloader(registry)
    step(reloader)
    (registry / "manifest.json").write_text("{half a manif")
    step(reloader)
    assert reloader.current.version == "v2" and "registry unreadable" in reloader.error
    (registry / "manifest.json").write_bytes((MODELS / "manifest.json").read_bytes())
    step(reloader)
    assert reloader.error is None and recorder.outcomes == ["ok", "registry_error"]


def test_non_finite_scores_at_inference_are_a_500_with_a_message_and_counted(registry: Path) -> None:
    """A model never swapped in by the reloader (the self-check refuses NaN), served anyway: the guard answers."""
    from fastapi.testclient import TestClient
    from modelserver.app import create_app

    reloader, _ = make_reloader(registry)
    app = create_app(reloader.settings)
    model = OnnxModel.from_bytes((FAULTY / "nan.onnx").read_bytes())
    app.state.server.reloader.current = Loaded("v9", "champion", "0" * 64, 0.0, model, 0.0)
    response = TestClient(app).post("/predict", json={"features": [0.0] * 64})
    assert response.status_code == 500
    assert "non-finite" in response.json()["reason"]
    assert response.headers["x-model-version"] == "v9"
    assert "modelserver_nonfinite_outputs_total 1.0" in TestClient(app).get("/metrics").text

"""The committed fixtures are exactly what build_models.py produces, and the
models rank as intended when served by the model server's own inference."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from modelserver.model import OnnxModel, accuracy, read_labeled
from modelserver.registry import read_artifact, read_manifest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODELS = FIXTURES / "models"
REQUESTS = FIXTURES / "requests"
FAULTY = FIXTURES / "faulty"
FAULTS = ("degraded", "constant", "nan", "slow", "crash-on-load")
BUILT_FILES = [
    "models/manifest.json",
    "models/v1/model.onnx",
    "models/v2/model.onnx",
    "models/v3/model.onnx",
    "faulty/index.json",
    *(f"faulty/{name}.onnx" for name in FAULTS),
    "requests/validation.jsonl",
    "requests/predict.jsonl",
]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rebuild")
    subprocess.run(
        [
            sys.executable,
            str(FIXTURES / "build_models.py"),
            "--out",
            str(out / "models"),
            "--faulty",
            str(out / "faulty"),
            "--requests",
            str(out / "requests"),
        ],
        check=True,
        timeout=120,
    )
    return out


def manifest() -> dict:
    return json.loads((MODELS / "manifest.json").read_text())


@pytest.mark.parametrize("name", BUILT_FILES)
def test_rebuild_is_byte_identical(rebuilt: Path, name: str) -> None:
    assert (rebuilt / name).read_bytes() == (FIXTURES / name).read_bytes()


def test_manifest_sha256_match_artifacts() -> None:
    for version, entry in manifest()["versions"].items():
        data = (MODELS / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], version


def served_accuracy(version: str, rows: Path) -> float:
    model = OnnxModel.from_bytes(read_artifact(MODELS, read_manifest(MODELS), version).data)
    return accuracy(model, *read_labeled(rows))


def test_manifest_accuracy_is_what_the_server_measures() -> None:
    for version, entry in manifest()["versions"].items():
        measured = served_accuracy(version, REQUESTS / "validation.jsonl")
        assert measured == pytest.approx(entry["metrics"]["accuracy"], abs=1e-6), version


def test_versions_rank_v2_over_v1_over_v3_on_predict_requests() -> None:
    scores = {version: served_accuracy(version, REQUESTS / "predict.jsonl") for version in ("v1", "v2", "v3")}
    assert scores["v2"] > scores["v1"] > scores["v3"], scores
    assert scores["v2"] >= 0.95, scores
    assert 0.4 <= scores["v3"] <= 0.6, scores


def test_request_files_have_64_features_and_labels() -> None:
    for name, rows in (("validation.jsonl", 200), ("predict.jsonl", 400)):
        features, labels = read_labeled(REQUESTS / name)
        assert features.shape == (rows, 64)
        assert set(labels.tolist()) == set(range(10))


def faulty_index() -> dict:
    return json.loads((FAULTY / "index.json").read_text())


def test_faulty_index_lists_every_fault_with_its_checksum() -> None:
    index = faulty_index()
    assert sorted(index) == sorted(FAULTS)
    for name, entry in index.items():
        assert hashlib.sha256((FAULTY / entry["file"]).read_bytes()).hexdigest() == entry["sha256"], name
    assert index["degraded"]["sha256"] == manifest()["versions"]["v3"]["sha256"]
    assert index["nan"]["accuracy"] is None and index["crash-on-load"]["accuracy"] is None


def test_faulty_artifacts_are_not_in_the_manifest() -> None:
    paths = {entry["path"] for entry in manifest()["versions"].values()}
    assert not any("faulty" in path for path in paths)


@pytest.mark.parametrize("name", ["degraded", "constant", "slow"])
def test_faulty_accuracy_is_what_the_server_measures(name: str) -> None:
    entry = faulty_index()[name]
    model = OnnxModel.from_bytes((FAULTY / entry["file"]).read_bytes())
    assert accuracy(model, *read_labeled(REQUESTS / "validation.jsonl")) == pytest.approx(entry["accuracy"])


def test_constant_always_predicts_one_class_and_slow_answers_like_v2() -> None:
    features, _ = read_labeled(REQUESTS / "predict.jsonl")
    constant = OnnxModel.from_bytes((FAULTY / "constant.onnx").read_bytes())
    assert len(set(constant.predict(features)[0].tolist())) == 1
    slow = OnnxModel.from_bytes((FAULTY / "slow.onnx").read_bytes())
    v2 = OnnxModel.from_bytes((MODELS / "v2" / "model.onnx").read_bytes())
    assert slow.predict(features[:50])[0].tolist() == v2.predict(features[:50])[0].tolist()


def test_nan_scores_are_not_finite() -> None:
    model = OnnxModel.from_bytes((FAULTY / "nan.onnx").read_bytes())
    _, finite = model.predict(read_labeled(REQUESTS / "validation.jsonl")[0])
    assert not finite.any()

"""The committed fixtures are exactly what build_models.py produces, and the
models rank as intended when served by the model server's own inference."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelserver.model import LogRegModel, accuracy, read_labeled
from modelserver.registry import load_artifact

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODELS = FIXTURES / "models"
REQUESTS = FIXTURES / "requests"
BUILT_FILES = [
    "models/manifest.json",
    "models/v1/model.json",
    "models/v2/model.json",
    "models/v3/model.json",
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
    model = LogRegModel.from_params(load_artifact(MODELS, version).params)
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

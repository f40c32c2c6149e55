"""Model server registry, inference and configuration, without any servers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from modelserver.config import Address, ConfigError, Settings
from modelserver.model import LogRegModel, ModelError, accuracy, read_labeled, self_check
from modelserver.registry import IntegrityError, RegistryError, load_artifact, read_manifest, resolve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODELS = FIXTURES / "models"
VALIDATION = FIXTURES / "requests" / "validation.jsonl"
PREDICT = FIXTURES / "requests" / "predict.jsonl"


@pytest.fixture
def registry_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MODELS, tmp_path / "models"))


# registry


@pytest.mark.parametrize(("alias", "version"), [("champion", "v2"), ("previous", "v1"), ("v3", "v3")])
def test_resolve_alias_or_version(alias: str, version: str) -> None:
    assert resolve(read_manifest(MODELS), alias) == version


def test_resolve_unknown_alias_lists_known_names() -> None:
    with pytest.raises(RegistryError, match=r"unknown model alias or version 'canary'.*champion.*v3"):
        resolve(read_manifest(MODELS), "canary")


def test_load_artifact_returns_verified_version() -> None:
    artifact = load_artifact(MODELS, "champion")
    assert (artifact.version, artifact.alias) == ("v2", "champion")
    assert artifact.sha256 == read_manifest(MODELS)["versions"]["v2"]["sha256"]
    assert artifact.expected_accuracy > 0.95


def test_one_changed_byte_is_a_sha256_mismatch(registry_copy: Path) -> None:
    path = registry_copy / "v2" / "model.json"
    data = bytearray(path.read_bytes())
    data[data.index(b"1")] = ord("2")
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256 mismatch for v2"):
        load_artifact(registry_copy, "champion")


def test_sha256_is_checked_before_parsing(registry_copy: Path) -> None:
    (registry_copy / "v1" / "model.json").write_bytes(b"not json, and never parsed")
    with pytest.raises(IntegrityError, match="sha256"):
        load_artifact(registry_copy, "previous")


def test_missing_manifest_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read manifest"):
        load_artifact(tmp_path, "champion")


def test_manifest_path_must_stay_inside_the_registry(registry_copy: Path) -> None:
    manifest = json.loads((registry_copy / "manifest.json").read_text())
    manifest["versions"]["v2"]["path"] = "../../etc/passwd"
    (registry_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RegistryError, match="leaves the registry"):
        load_artifact(registry_copy, "champion")


# model


def model_of(alias: str) -> LogRegModel:
    return LogRegModel.from_params(load_artifact(MODELS, alias).params)


def test_inference_accuracy_on_held_out_requests() -> None:
    assert accuracy(model_of("champion"), *read_labeled(PREDICT)) >= 0.95


def test_predict_one_matches_batch_prediction() -> None:
    model = model_of("champion")
    features, _ = read_labeled(PREDICT)
    batch = model.predict(features[:20])
    assert [model.predict_one(row.tolist()) for row in features[:20]] == batch.tolist()
    assert isinstance(model.predict_one(features[0].tolist()), int)


@pytest.mark.parametrize("alias", ["v1", "v2", "v3"])
def test_self_check_passes_for_every_version(alias: str) -> None:
    artifact = load_artifact(MODELS, alias)
    measured = self_check(LogRegModel.from_params(artifact.params), VALIDATION, artifact.expected_accuracy, 0.02)
    assert measured == pytest.approx(artifact.expected_accuracy)


def test_self_check_rejects_a_model_that_does_not_match_its_metrics() -> None:
    v3_model = model_of("v3")
    with pytest.raises(ModelError, match="self-check failed"):
        self_check(v3_model, VALIDATION, load_artifact(MODELS, "v2").expected_accuracy, 0.02)


def test_from_params_rejects_wrong_format_and_shapes() -> None:
    params = load_artifact(MODELS, "v2").params
    with pytest.raises(ModelError, match="format"):
        LogRegModel.from_params({**params, "format": "pickle"})
    with pytest.raises(ModelError, match="coef"):
        LogRegModel.from_params({**params, "coef": np.zeros((10, 63)).tolist()})


# configuration

BASE_ENV = {
    "SERVER_NAME": "model-a",
    "LISTEN": "0.0.0.0:8001",
    "REGISTRY_DIR": "/fixtures/models",
    "VALIDATION_FILE": "/fixtures/requests/validation.jsonl",
    "SENTINELS": "sentinel-1:26379,sentinel-2:26380",
}


def test_settings_defaults_and_routes() -> None:
    settings = Settings.from_env({**BASE_ENV, "REDIS_ROUTES": "redis-1:16379=toxiproxy:16401"})
    assert settings.listen == Address("0.0.0.0", 8001)
    assert settings.sentinels == (Address("sentinel-1", 26379), Address("sentinel-2", 26380))
    assert settings.redis_routes == {Address("redis-1", 16379): Address("toxiproxy", 16401)}
    assert (settings.model_alias, settings.degraded, settings.sentinel_master) == ("champion", False, "predictions")
    assert (settings.self_check_tolerance, settings.store_timeout) == (0.02, 0.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LISTEN", "8001"),
        ("SENTINELS", ""),
        ("REDIS_ROUTES", "redis-1:16379"),
        ("DEGRADED", "yes"),
        ("STORE_TIMEOUT", "0"),
        ("SELF_CHECK_TOLERANCE", "x"),
    ],
)
def test_malformed_variable_is_named_in_the_error(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}"):
        Settings.from_env({**BASE_ENV, name: value})


def test_missing_required_variable_is_named_in_the_error() -> None:
    env = dict(BASE_ENV)
    del env["REGISTRY_DIR"]
    with pytest.raises(ConfigError, match="REGISTRY_DIR is required"):
        Settings.from_env(env)

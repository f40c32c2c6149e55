"""Model server registry, inference and configuration, without any servers
(real onnxruntime, real files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from modelserver.config import Address, ConfigError, Settings
from modelserver.model import ModelError, NonFiniteOutput, OnnxModel, accuracy, read_labeled, self_check
from modelserver.registry import (
    IntegrityError,
    RegistryError,
    read_artifact,
    read_manifest,
    resolve,
    resolve_first,
    set_alias,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODELS = FIXTURES / "models"
FAULTY = FIXTURES / "faulty"
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


def load_artifact(registry: Path, alias: str):
    manifest = read_manifest(registry)
    return read_artifact(registry, manifest, resolve(manifest, alias))


def test_resolve_first_takes_the_first_alias_the_manifest_has() -> None:
    manifest = read_manifest(MODELS)
    assert resolve_first(manifest, ("canary", "champion")) == ("champion", "v2")
    manifest["aliases"]["canary"] = "v3"
    assert resolve_first(manifest, ("canary", "champion")) == ("canary", "v3")
    with pytest.raises(RegistryError, match="none of the aliases nightly, staging"):
        resolve_first(manifest, ("nightly", "staging"))


def test_read_artifact_returns_verified_version() -> None:
    artifact = load_artifact(MODELS, "champion")
    assert artifact.version == "v2"
    assert artifact.sha256 == read_manifest(MODELS)["versions"]["v2"]["sha256"]
    assert artifact.expected_accuracy > 0.95


def test_one_changed_byte_is_a_sha256_mismatch(registry_copy: Path) -> None:
    path = registry_copy / "v2" / "model.onnx"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256 mismatch for v2"):
        load_artifact(registry_copy, "champion")


def test_sha256_is_checked_before_parsing(registry_copy: Path) -> None:
    (registry_copy / "v1" / "model.onnx").write_bytes(b"not onnx, and never parsed")
    with pytest.raises(IntegrityError, match="sha256"):
        load_artifact(registry_copy, "previous")


def test_missing_manifest_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read manifest"):
        load_artifact(tmp_path, "champion")


def test_schema_1_manifest_is_refused_naming_the_version(registry_copy: Path) -> None:
    manifest = json.loads((registry_copy / "manifest.json").read_text())
    (registry_copy / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 1}))
    with pytest.raises(RegistryError, match="expected schema_version 2, found 1"):
        read_manifest(registry_copy)


def test_manifest_path_must_stay_inside_the_registry(registry_copy: Path) -> None:
    manifest = json.loads((registry_copy / "manifest.json").read_text())
    manifest["versions"]["v2"]["path"] = "../../etc/passwd"
    (registry_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RegistryError, match="leaves the registry"):
        load_artifact(registry_copy, "champion")


def test_set_alias_points_deletes_and_validates(registry_copy: Path) -> None:
    set_alias(registry_copy, "canary", "v3")
    assert read_manifest(registry_copy)["aliases"] == {"champion": "v2", "previous": "v1", "canary": "v3"}
    set_alias(registry_copy, "canary", None)
    assert "canary" not in read_manifest(registry_copy)["aliases"]
    with pytest.raises(RegistryError, match="no such version"):
        set_alias(registry_copy, "champion", "v9")
    assert read_manifest(registry_copy)["aliases"]["champion"] == "v2"
    leftovers = [path.name for path in registry_copy.iterdir() if path.name.startswith(".manifest")]
    assert leftovers == []


def test_set_alias_replaces_the_manifest_file_not_its_content(registry_copy: Path) -> None:
    """A reader holding the old file keeps a whole manifest (os.replace, never a rewrite in place)."""
    manifest_path = registry_copy / "manifest.json"
    with manifest_path.open("rb") as old:
        set_alias(registry_copy, "champion", "v1")
        assert json.loads(old.read())["aliases"]["champion"] == "v2"
    assert read_manifest(registry_copy)["aliases"]["champion"] == "v1"


# model


def model_of(alias: str) -> OnnxModel:
    return OnnxModel.from_bytes(load_artifact(MODELS, alias).data)


def test_inference_accuracy_on_held_out_requests() -> None:
    assert accuracy(model_of("champion"), *read_labeled(PREDICT)) >= 0.95


def test_predict_one_matches_batch_prediction() -> None:
    model = model_of("champion")
    features, _ = read_labeled(PREDICT)
    batch, _ = model.predict(features[:20])
    assert [model.predict_one(row.tolist()) for row in features[:20]] == batch.tolist()
    assert isinstance(model.predict_one(features[0].tolist()), int)


@pytest.mark.parametrize("alias", ["v1", "v2", "v3"])
def test_self_check_passes_for_every_version(alias: str) -> None:
    artifact = load_artifact(MODELS, alias)
    measured = self_check(OnnxModel.from_bytes(artifact.data), VALIDATION, artifact.expected_accuracy, 0.02)
    assert measured == pytest.approx(artifact.expected_accuracy)


def test_self_check_rejects_a_model_that_does_not_match_its_metrics() -> None:
    v3_model = model_of("v3")
    with pytest.raises(ModelError, match="self-check failed"):
        self_check(v3_model, VALIDATION, load_artifact(MODELS, "v2").expected_accuracy, 0.02)


def test_runtime_refuses_truncated_and_unknown_op_artifacts() -> None:
    data = (MODELS / "v2" / "model.onnx").read_bytes()
    with pytest.raises(ModelError, match="INVALID_PROTOBUF"):
        OnnxModel.from_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="not a registered function/op"):
        OnnxModel.from_bytes((FAULTY / "crash-on-load.onnx").read_bytes())


def test_nan_model_fails_the_self_check_whatever_its_recorded_accuracy() -> None:
    model = OnnxModel.from_bytes((FAULTY / "nan.onnx").read_bytes())
    for recorded in (0.0, 0.98):
        with pytest.raises(ModelError, match="non-finite scores"):
            self_check(model, VALIDATION, recorded, 0.02)
    with pytest.raises(NonFiniteOutput):
        model.predict_one(read_labeled(PREDICT)[0][0].tolist())


def test_a_model_with_another_signature_is_refused() -> None:
    import onnx

    proto = onnx.load_from_string((MODELS / "v2" / "model.onnx").read_bytes())
    proto.graph.input[0].name = "x"
    for node in proto.graph.node:
        node.input[:] = ["x" if name == "features" else name for name in node.input]
    with pytest.raises(ModelError, match="expected input 'features'"):
        OnnxModel.from_bytes(proto.SerializeToString())


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
    assert (settings.model_aliases, settings.degraded, settings.sentinel_master) == (
        ("champion",),
        False,
        "predictions",
    )
    assert (settings.reload_interval, settings.max_body_bytes) == (0.25, 65536)


def test_model_alias_is_an_ordered_list() -> None:
    settings = Settings.from_env({**BASE_ENV, "MODEL_ALIAS": " canary , champion ", "RELOAD_INTERVAL": "0.1"})
    assert (settings.model_aliases, settings.reload_interval) == (("canary", "champion"), 0.1)
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
        ("MODEL_ALIAS", " , "),
        ("RELOAD_INTERVAL", "0"),
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

"""`models:` in a target file: what it declares, the accessors faults use, and bad input with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.models.file_registry import COMMITTED_FIXTURES, FileRegistry, RegistryError
from harness.stack import StackSettings
from harness.targets.compose_file import ComposeFileTarget
from harness.targets.loader import load_target
from harness.targets.reference import REFERENCE_TARGET_FILE, ReferenceTarget
from tests.unit.test_model_registry_helpers import make_faulty, make_registry

COMPOSE = """
services:
  lb: {image: nginx, ports: ["127.0.0.1:8088:80"]}
  app-1: {image: app}
  app-2: {image: app}
"""
TARGET = """name: shop-ml
compose_file: docker-compose.yml
entry:
  url: http://127.0.0.1:8088/v1/score
  payloads: payloads.jsonl
services: [lb, app-1, app-2]
models:
  digits:
    registry: {registry}
    served_by: [app-1, {server}]
    golden: golden.jsonl
    faulty: faulty
    rollout_events: http://127.0.0.1:${{GUARDIAN_PORT:-8090}}/events
"""


def _write(tmp_path: Path, registry: str = "{kind: file, path: registry}", server: str = "app-2") -> Path:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "payloads.jsonl").write_text('{"body": {"inputs": [1]}, "label": 0}\n')
    (tmp_path / "golden.jsonl").write_text('{"body": {"inputs": [1]}, "label": 0}\n{"inputs": [2], "label": 1}\n')
    make_registry(tmp_path / "registry")
    make_faulty(tmp_path / "faulty")
    path = tmp_path / "shop.target.yaml"
    path.write_text(TARGET.format(registry=registry, server=server))
    return path


def _problem(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(BadInput) as caught:
        load_target(path, env=env or {})
    return f"{caught.value.message}\nTIP: {caught.value.tip}"


def test_a_declared_model_gives_its_registry_services_golden_and_faulty_library(tmp_path: Path) -> None:
    target = ComposeFileTarget.from_file(_write(tmp_path))
    assert target.model_names() == ["digits"]
    registry = target.model_registry("digits")
    assert isinstance(registry, FileRegistry) and registry.root == (tmp_path / "registry").resolve()
    assert registry.resolve("champion") == "v2"
    assert target.model("digits").served_by == ["app-1", "app-2"]
    assert target.models_served_by("app-2") == ["digits"] and target.models_served_by("lb") == []
    assert [payload.label for payload in target.golden("digits")] == [0, 1]
    assert target.faulty_library("digits").get("degraded").accuracy == 0.48
    assert target.model("digits").rollout_events == "http://127.0.0.1:8090/events"
    assert target.facts()["models"]["digits"]["served_by"] == ["app-1", "app-2"]


def test_an_undeclared_model_is_named_with_a_suggestion(tmp_path: Path) -> None:
    target = ComposeFileTarget.from_file(_write(tmp_path))
    with pytest.raises(BadInput) as caught:
        target.model("digit")
    assert "declares no model 'digit'" in caught.value.message and "did you mean 'digits'?" in caught.value.tip


def test_a_server_that_is_not_a_target_service_is_named_on_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, server="app-3")
    problem = _problem(path)
    assert f"{path}:10: models.digits.served_by[1]: 'app-3' is not one of the target's services" in problem
    assert "did you mean 'app-1'?" in problem or "did you mean 'app-2'?" in problem


def test_an_unknown_registry_kind_lists_the_kinds(tmp_path: Path) -> None:
    path = _write(tmp_path, registry="{kind: mlflw, path: registry}")
    problem = _problem(path)
    assert f"{path}:9: models.digits.registry.kind: unknown kind 'mlflw'" in problem
    assert "kind is one of: file" in problem


def test_an_unknown_registry_field_gets_did_you_mean(tmp_path: Path) -> None:
    problem = _problem(path := _write(tmp_path, registry="{kind: file, pth: registry}"))
    assert f"{path}:9: models.digits.registry.pth: unknown field" in problem and "did you mean 'path'?" in problem


def test_an_empty_registry_path_asks_whether_its_variable_is_set(tmp_path: Path) -> None:
    path = _write(tmp_path, registry='{kind: file, path: "${MY_REGISTRY}"}')
    problem = _problem(path)
    assert f"{path}:9: models.digits.registry.path: empty path: is the variable it names set?" in problem


def test_unlabelled_golden_requests_are_named_on_their_line(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (tmp_path / "golden.jsonl").write_text('{"body": {"inputs": [1]}}\n')
    assert f"{path}:11: models.digits.golden:" in _problem(path) and "1 requests without a label" in _problem(path)


def test_a_faulty_library_without_index_is_named_on_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (tmp_path / "faulty" / "index.json").unlink()
    assert f"{path}:12: models.digits.faulty: cannot read" in _problem(path)


def test_a_faulty_index_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (tmp_path / "faulty" / "degraded.onnx").unlink()
    assert "'degraded': file degraded.onnx is not a file" in _problem(path)


def test_rollout_events_must_be_on_loopback(tmp_path: Path) -> None:
    path = _write(tmp_path)
    path.write_text(path.read_text().replace("127.0.0.1:${GUARDIAN_PORT:-8090}", "10.0.0.1:8090"))
    assert f"{path}:13: models.digits.rollout_events: '" in _problem(path)


def test_a_model_without_faulty_library_says_how_to_declare_one(tmp_path: Path) -> None:
    path = _write(tmp_path)
    path.write_text(path.read_text().replace("    faulty: faulty\n", ""))
    with pytest.raises(BadInput, match="declares no faulty library"):
        ComposeFileTarget.from_file(path).faulty_library("digits")


def test_the_reference_target_declares_its_model_on_the_stacks_own_registry(isolated_state: Path) -> None:
    settings = StackSettings(project="failover-models")
    target = ReferenceTarget(settings)
    model = target.model("digits")
    assert model.served_by == ["model-a", "model-b", "model-fallback"]
    assert target.model_registry("digits").root == settings.registry_dir
    assert len(target.golden("digits")) == 200


def test_without_the_harness_the_reference_registry_is_the_fixtures_and_read_only(tmp_path: Path) -> None:
    spec = load_target(REFERENCE_TARGET_FILE, env={})
    registry = spec.models["digits"].registry.open()
    assert registry.root == COMMITTED_FIXTURES / "models"
    assert registry.resolve("champion") == "v2"
    with pytest.raises(RegistryError, match="committed fixtures"):
        registry.set_alias("champion", "v1")


def test_heal_models_undoes_faults_left_in_the_targets_registries(tmp_path: Path) -> None:
    from harness.faults.model.corrupt_artifact import CorruptArtifact

    target = ComposeFileTarget.from_file(_write(tmp_path))
    registry = target.model_registry("digits")
    manifest = registry.manifest_bytes()
    CorruptArtifact(registry, "champion", "truncate").inject()
    assert len(target.heal_models()) == 1
    assert registry.manifest_bytes() == manifest


def test_the_facts_a_run_records_fit_its_result() -> None:
    """result.json's target facts are validated: every key a target reports must have a field there."""
    from harness.result import TargetFacts
    from harness.stack import StackSettings
    from harness.targets import resolve_target

    facts = TargetFacts(**resolve_target(None, StackSettings()).facts())
    assert facts.models["digits"].served_by == ["model-a", "model-b", "model-fallback"]

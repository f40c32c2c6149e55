"""Target files: relative paths, interpolation, and names checked against the compose file with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.targets.loader import load_target
from harness.targets.reference import REFERENCE_TARGET_FILE

COMPOSE = """
services:
  lb: {image: nginx, ports: ["127.0.0.1:8088:80"]}
  app-1: {image: app}
  app-2: {image: app}
"""
TARGET = """name: shop-ml
compose_file: stack/docker-compose.yml
toxiproxy: http://127.0.0.1:${{SHOP_TOXIPROXY_PORT:-8475}}
x-ping: &ping http://127.0.0.1:9101/ping
entry:
  url: http://127.0.0.1:8088/v1/score
  payloads: payloads.jsonl
services: [lb, app-1, {service}]
hops:
  lb->app-1: {{upstream: "app-1:9000"}}
  {hop}: {{upstream: "app-2:9000"}}
signals:
  app-1: {{http: *ping}}
"""


def _write(tmp_path: Path, service: str = "app-2", hop: str = "lb->app-2") -> Path:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "payloads.jsonl").write_text('{"body": {"inputs": [1]}, "label": 0}\n')
    path = tmp_path / "shop.target.yaml"
    path.write_text(TARGET.format(service=service, hop=hop))
    return path


def test_paths_are_relative_to_the_target_file_and_values_interpolated(tmp_path: Path) -> None:
    spec = load_target(_write(tmp_path), env={"SHOP_TOXIPROXY_PORT": "9474"})
    assert spec.compose_file == (tmp_path / "stack" / "docker-compose.yml").resolve()
    assert spec.entry.payloads == (tmp_path / "payloads.jsonl").resolve()
    assert spec.toxiproxy == "http://127.0.0.1:9474"
    assert spec.signals["app-1"].http == "http://127.0.0.1:9101/ping"


def test_a_service_the_compose_file_lacks_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, service="app-3")
    with pytest.raises(BadInput) as caught:
        load_target(path, env={})
    message = f"{caught.value.message} {caught.value.tip}"
    assert f"{path}:8" in message and "'app-3' is not a service" in message
    assert "did you mean 'app-1'" in message or "did you mean 'app-2'" in message


def test_a_hop_to_a_service_the_compose_file_lacks_is_named_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, hop="lb->app-9")
    with pytest.raises(BadInput) as caught:
        load_target(path, env={})
    assert f"{path}:11" in caught.value.message and "'app-9' is not a service" in caught.value.message


def test_a_missing_payload_file_is_bad_input_on_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (tmp_path / "payloads.jsonl").unlink()
    with pytest.raises(BadInput, match=rf"{path}:7.*cannot read payload file"):
        load_target(path, env={})


def test_the_reference_stack_is_a_valid_target_with_moved_ports() -> None:
    spec = load_target(REFERENCE_TARGET_FILE, env={"FAILOVER_GATEWAY_PORT": "18080", "FAILOVER_STATS_PORT": "18404"})
    assert spec.entry.url == "http://127.0.0.1:18080/predict"
    assert spec.signals["model-a"].haproxy.stats_url == "http://127.0.0.1:18404"  # type: ignore[union-attr]
    assert spec.store is not None and spec.store.kind == "sentinel"


def test_validate_exits_2_naming_the_target_files_line_when_it_names_a_missing_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    target = _write(tmp_path, service="app-3")
    scenario = tmp_path / "kill.yaml"
    scenario.write_text(f"name: kill\ntarget: {target.name}\ntimeline: [{{at: 1s, action: kill, target: app-1}}]\n")
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert f"{target}:8" in err and "did you mean" in err


def test_a_scenario_may_only_hit_what_its_target_opted_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    target = _write(tmp_path)
    scenario = tmp_path / "kill.yaml"
    scenario.write_text(f"name: kill\ntarget: {target.name}\ntimeline: [{{at: 1s, action: kill, target: db}}]\n")
    assert main(["validate", str(scenario)]) == 2
    assert f"{scenario}:3" in capsys.readouterr().err

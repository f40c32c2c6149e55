"""`failover init` (harness/targets/init_target.py, harness/commands/init.py) on real compose files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from harness.commands.init import init_command
from harness.errors import BadInput
from harness.scenario import Scenario
from harness.stack.spec import REPO_ROOT
from harness.targets.compose_override import HopInsertion, hop_override
from harness.targets.init_target import read_compose, write_starter

SHOP_LIKE = REPO_ROOT / "tests" / "fixtures_compose" / "shop-like" / "docker-compose.yml"
SHOP_ML = REPO_ROOT / "tests" / "stacks" / "shop-ml" / "docker-compose.yml"
REFERENCE = REPO_ROOT / "compose" / "docker-compose.yml"


def _written(compose: Path, out: Path, **options: Any) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """(target mapping, target text, [replica-kill scenario, hop-latency scenario])."""
    target, kill, latency = write_starter(compose, out, env={}, **options)
    scenarios = [yaml.safe_load(path.read_text()) for path in (kill, latency)]
    return yaml.safe_load(target.read_text()), target.read_text(), scenarios


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(start))


def test_a_shop_shaped_stack_gives_a_target_following_the_contract(tmp_path: Path) -> None:
    target, text, _ = _written(SHOP_LIKE, tmp_path / "out")
    assert (tmp_path / "out" / target.pop("compose_file")).resolve() == SHOP_LIKE.resolve()
    assert target == {
        "name": "shop-like",
        "project": "failover-shop-like",
        "attach": False,
        "toxiproxy": "http://127.0.0.1:8475",
        "entry": {"url": "http://127.0.0.1:8088/", "method": "POST", "payloads": "payloads.jsonl"},
        "request_id_header": "X-Request-Id",
        "ready_timeout": "120s",
        "services": ["lb", "app-1", "app-2", "db"],
        "hops": {
            "lb->app-1": {"upstream": "app-1:9000"},
            "lb->app-2": {"upstream": "app-2:9000"},
            "app-1->db": {"upstream": "db:5432"},
            "app-2->db": {"upstream": "db:5432"},
        },
        "signals": {
            "lb": {"http": "http://127.0.0.1:8088/healthz"},
            "app-1": {"http": "http://127.0.0.1:9101/ping"},
            "app-2": {"http": "http://127.0.0.1:9102/ping"},
        },
    }
    assert "guessed: from the folder name 'shop-like'" in _line(text, "name:")
    assert "guessed: lb's published port, nothing depends on lb" in _line(text, "url:")
    assert "guessed: lb depends_on app-1; port 9000" in _line(text, "lb->app-1:")
    assert "from app-1's DATABASE_URL" in _line(text, "app-1->db:") and "guessed" not in _line(text, "app-1->db:")
    assert '#   sql: {dsn: "postgresql://shop:shop@127.0.0.1:5433/shop"' in text


def test_interpolation_reads_the_environment(tmp_path: Path) -> None:
    target, kill, latency = write_starter(SHOP_LIKE, tmp_path, env={"SHOP_LB_PORT": "18088"})
    assert yaml.safe_load(target.read_text())["entry"]["url"] == "http://127.0.0.1:18088/"


def test_the_starter_scenarios_kill_a_replica_and_slow_the_entrys_hop(tmp_path: Path) -> None:
    _, _, (kill, latency) = _written(SHOP_LIKE, tmp_path, name="shop")
    assert kill["target"] == latency["target"] == "shop.target.yaml"
    assert kill["timeline"] == [{"at": "2s", "action": "kill", "target": "app-1", "duration": "8s"}]
    assert latency["timeline"][0] | {"target": None} == {
        "at": "2s", "action": "latency", "target": None, "latency": "800ms", "jitter": "100ms", "duration": "12s"
    }
    assert latency["timeline"][0]["target"] == "lb->app-1"
    for scenario in (kill, latency):  # the existing scenario format, plus `target:`
        Scenario.model_validate({key: value for key, value in scenario.items() if key != "target"})
    assert "guessed: a replica, like app-2" in (tmp_path / "shop-replica-kill.yaml").read_text()


def test_the_starter_hops_are_accepted_by_the_hop_override(tmp_path: Path) -> None:
    target, _, _ = _written(SHOP_LIKE, tmp_path)
    hops = [HopInsertion.parse(name, hop["upstream"]) for name, hop in target["hops"].items()]
    compose = yaml.safe_load(SHOP_LIKE.read_text())
    override = hop_override(compose, hops, toxiproxy_image="failover-stack:latest", toxiproxy_api_port=8475)
    assert [proxy["name"] for proxy in override.proxies] == ["lb-app-1", "lb-app-2", "app-1-db", "app-2-db"]


def test_the_reference_stack(tmp_path: Path) -> None:
    target, text, (kill, _) = _written(REFERENCE, tmp_path, name="reference")
    assert target["entry"]["url"] == "http://127.0.0.1:8080/"
    assert target["hops"]["gateway->toxiproxy"] == {"upstream": "toxiproxy:18001"}
    assert target["signals"]["model-a"] == {"http": "http://127.0.0.1:8001/readyz"}
    assert kill["timeline"][0]["target"] == "model-a"


@pytest.mark.skipif(not SHOP_ML.exists(), reason="tests/stacks/shop-ml is not on this branch yet")
def test_the_shop_ml_test_stack(tmp_path: Path) -> None:
    target, _, (kill, latency) = _written(SHOP_ML, tmp_path)
    assert target["entry"]["url"] == "http://127.0.0.1:8088/"
    assert target["hops"]["lb->app-1"] == {"upstream": "app-1:9000"}
    assert target["hops"]["app-1->db"] == {"upstream": "db:5432"}
    assert target["signals"]["app-2"] == {"http": "http://127.0.0.1:9102/ping"}
    assert (kill["timeline"][0]["target"], latency["timeline"][0]["target"]) == ("app-1", "lb->app-1")


def test_what_cannot_be_found_is_a_commented_placeholder(tmp_path: Path) -> None:
    compose = tmp_path / "stack" / "compose.yml"
    compose.parent.mkdir()
    services = {"worker": {"image": "w", "depends_on": ["queue"]}, "queue": {}}
    compose.write_text(yaml.safe_dump({"services": services}, sort_keys=False))
    target, text, (kill, latency) = _written(compose, tmp_path / "out")
    assert target["entry"]["url"] == "http://127.0.0.1:PORT/" and "guessed: no service" in _line(text, "url:")
    assert target["hops"] == {}  # the only candidate hop has no known port: left commented out
    assert '# worker->queue: {upstream: "queue:PORT"}' in text
    assert "signals" not in target
    assert kill["timeline"][0]["target"] == "worker"
    assert latency["timeline"][0]["target"] == "SERVICE->UPSTREAM"


def test_existing_files_are_never_overwritten_without_force(tmp_path: Path) -> None:
    existing = tmp_path / "shop-like-hop-latency.yaml"
    existing.write_text("mine\n")
    with pytest.raises(BadInput, match="already exist.*nothing was written"):
        write_starter(SHOP_LIKE, tmp_path, env={})
    assert existing.read_text() == "mine\n" and not (tmp_path / "shop-like.target.yaml").exists()
    write_starter(SHOP_LIKE, tmp_path, env={}, force=True)
    assert existing.read_text() != "mine\n"


def test_the_compose_file_is_read_only(tmp_path: Path) -> None:
    before = hashlib.sha256(SHOP_LIKE.read_bytes()).hexdigest()
    write_starter(SHOP_LIKE, tmp_path, env={})
    assert hashlib.sha256(SHOP_LIKE.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: [a]\n", "no 'services' mapping"),
        ("services: {a: {ports: ['x:y']}}\n", "port 'x:y' is not understood"),
        ("a: [\n", "invalid YAML"),
    ],
)
def test_a_bad_compose_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(text)
    with pytest.raises(BadInput, match=message):
        read_compose(compose, {})


def test_the_init_command(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("init")(init_command)
    app.command("unused")(lambda: None)  # a second command keeps `init` a subcommand
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--compose", str(SHOP_LIKE), "--out", str(tmp_path), "--name", "shop"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "shop-hop-latency.yaml", "shop-replica-kill.yaml", "shop.target.yaml"
    ]
    again = runner.invoke(app, ["init", "--compose", str(SHOP_LIKE), "--out", str(tmp_path), "--name", "shop"])
    assert isinstance(again.exception, BadInput)

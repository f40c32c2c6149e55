"""Profiles of the reference stack: which settings each gives every service, and how a bad name is refused."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import BadInput
from harness.scenario_loader import ScenarioError, load_scenario
from harness.stack import StackSettings
from harness.stack.local_plan import plan_service
from harness.stack.profiles import PROFILES, profile_environment
from harness.stack.spec import DEFAULT_COMPOSE_FILE, REPO_ROOT, StackSpec
from harness.suite_run import with_profiles
from harness.targets.reference import ReferenceTarget
from tests.conftest import require

TUNED_GATEWAY = {
    "GW_TIMEOUT_CONNECT": "250ms",
    "GW_TIMEOUT_SERVER": "500ms",
    "GW_CHECK_TIMEOUT": "100ms",
    "GW_CHECK_INTER": "100ms",
    "GW_CHECK_FASTINTER": "25ms",
    "GW_CHECK_DOWNINTER": "100ms",
    "GW_CHECK_RISE": "2",
    "GW_CHECK_FALL": "2",
    "GW_OBSERVE": "observe layer7 error-limit 2 on-error mark-down",
    "GW_RETRY_ON": "conn-failure empty-response response-timeout 502 503 504",
    "GW_REDISPATCH": "1",
}
STOCK_GATEWAY = {
    "GW_TIMEOUT_CONNECT": "5s",
    "GW_TIMEOUT_SERVER": "30s",
    "GW_CHECK_TIMEOUT": "",
    "GW_CHECK_INTER": "2s",
    "GW_CHECK_FASTINTER": "2s",
    "GW_CHECK_DOWNINTER": "2s",
    "GW_CHECK_RISE": "2",
    "GW_CHECK_FALL": "3",
    "GW_OBSERVE": "",
    "GW_RETRY_ON": "conn-failure",
    "GW_REDISPATCH": "0",
}
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
MODEL_SERVERS = ("model-a", "model-b", "model-fallback")


@pytest.fixture(autouse=True)
def _no_caller_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller's own FAILOVER_* variables would change what a profile gives."""
    for name in [name for name in os.environ if name.startswith(("FAILOVER_GW_", "FAILOVER_SENTINEL_", "FAILOVER_MODEL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("FAILOVER_GUARDIAN_PROFILE", raising=False)


def _spec(profile: str) -> StackSpec:
    return StackSettings(profile=profile).load_spec()


def _gateway(spec: StackSpec) -> dict[str, str]:
    return {name: value for name, value in spec.services["gateway"].environment.items() if name.startswith("GW_")}


def test_tuned_is_todays_reference_stack_and_the_default_profile() -> None:
    spec = _spec("tuned")
    assert StackSettings().profile == "tuned"
    assert _gateway(spec) == TUNED_GATEWAY
    for sentinel in SENTINELS:
        assert dict(spec.services[sentinel].environment) == {"DOWN_AFTER_MS": "1000", "FAILOVER_TIMEOUT_MS": "5000"}
    assert {spec.services[name].environment["RELOAD_INTERVAL"] for name in MODEL_SERVERS} == {"0.25"}
    assert spec.services["guardian"].environment["PROFILE"] == "default"


def test_default_gives_every_service_its_stock_settings() -> None:
    spec = _spec("default")
    assert _gateway(spec) == STOCK_GATEWAY
    for sentinel in SENTINELS:
        assert dict(spec.services[sentinel].environment) == {"DOWN_AFTER_MS": "30000", "FAILOVER_TIMEOUT_MS": "180000"}
    assert {spec.services[name].environment["RELOAD_INTERVAL"] for name in MODEL_SERVERS} == {"86400"}
    assert spec.services["guardian"].environment["PROFILE"] == "flagger-like"


def test_every_variable_a_profile_sets_is_read_by_the_compose_file() -> None:
    """A misspelt variable would silently leave the tuned value in place."""
    compose = DEFAULT_COMPOSE_FILE.read_text()
    for profile in PROFILES.values():
        for name in profile.variables:
            assert "${" + name in compose, f"{profile.name}: {name} is not in {DEFAULT_COMPOSE_FILE.name}"


@pytest.mark.parametrize("profile", list(PROFILES))
def test_haproxy_accepts_the_gateway_config_in_each_profile(profile: str, tmp_path: Path) -> None:
    require(shutil.which("haproxy") is not None, "haproxy missing (run: make setup)")
    spec = _spec(profile)
    gateway = plan_service(spec, spec.services["gateway"], tmp_path)  # as the local backend runs it
    checked = subprocess.run(
        [*gateway.argv, "-c"], env=gateway.env, capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_sentinel_takes_its_timings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("run_sentinel", REPO_ROOT / "compose" / "redis" / "run_sentinel.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOWN_AFTER_MS", "30000")
    monkeypatch.setenv("FAILOVER_TIMEOUT_MS", "180000")
    monkeypatch.setattr("sys.argv", ["run_sentinel.py", "--port", "26379", "--announce", "s1", "--primary", "r1:16379"])
    monkeypatch.setattr(module.os, "execvp", lambda *_: None)
    module.main()
    config = (tmp_path / "sentinel-26379.conf").read_text()
    assert "down-after-milliseconds predictions 30000" in config
    assert "failover-timeout predictions 180000" in config


def test_an_unknown_profile_names_the_choices() -> None:
    with pytest.raises(BadInput) as raised:
        profile_environment("stock")
    assert "unknown stack profile 'stock'" in raised.value.message
    assert "tuned, default" in (raised.value.tip or "")
    with pytest.raises(BadInput):
        StackSettings(profile="stock").environment()


def _scenario(tmp_path: Path, stack: str = "") -> Path:
    path = tmp_path / "pause.yaml"
    path.write_text(
        f"name: pause\n{stack}load: {{users: 0, probe_rate: 50}}\n"
        "timeline:\n  - {at: 2s, action: pause, target: model-a, duration: 4s}\n"
    )
    return path


def test_a_scenario_with_an_unknown_profile_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "stack: {profile: stock}\n")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    message = str(raised.value)
    assert f"{path}:2" in message and "stack.profile" in message and "choose one of tuned, default" in message


@pytest.mark.parametrize("argv", [["run", "--profile", "stock"], ["stack", "up", "--profile", "stock"]])
def test_the_cli_refuses_an_unknown_profile(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_state: object
) -> None:
    args = [*argv, str(_scenario(tmp_path))] if argv[0] == "run" else argv
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "unknown stack profile 'stock'" in err and "tuned, default" in err


def test_a_run_takes_the_scenarios_profile_unless_the_option_overrides_it(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "stack: {profile: default}\n")
    loaded = [(path, load_scenario(path), ReferenceTarget(StackSettings()))]
    ((_, _, target),) = with_profiles(loaded, None)
    assert isinstance(target, ReferenceTarget) and target.settings.profile == "default"
    ((_, _, target),) = with_profiles(loaded, "tuned")
    assert isinstance(target, ReferenceTarget) and target.settings.profile == "tuned"
    plain = _scenario(tmp_path)
    ((_, _, target),) = with_profiles([(plain, load_scenario(plain), ReferenceTarget(StackSettings()))], None)
    assert isinstance(target, ReferenceTarget) and target.settings.profile == "tuned"


class _UsersStack:
    """Not the reference stack (a target file of the user's)."""

    name = "shop"


def test_a_profile_on_a_users_stack_is_bad_input(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "stack: {profile: default}\n")
    with pytest.raises(BadInput) as raised:
        with_profiles([(path, load_scenario(path), _UsersStack())], None)  # type: ignore[list-item]
    assert "reference stack" in raised.value.message and "shop" in raised.value.message
    plain = _scenario(tmp_path)
    assert with_profiles([(plain, load_scenario(plain), _UsersStack())], None)[0][2].name == "shop"  # type: ignore[list-item]


def test_stack_up_opens_the_stack_in_the_chosen_profile(isolated_state: object) -> None:
    from harness.commands.stack import _stack

    stack = _stack("local", "cli-test", profile="default")
    assert stack.settings.profile == "default"
    assert _gateway(stack.spec) == STOCK_GATEWAY


def test_a_result_says_which_profile_the_reference_stack_ran_in() -> None:
    from harness.report.formatting import target as shown
    from harness.result import TargetFacts
    from harness.stack import StackSettings
    from harness.targets.reference import ReferenceTarget

    stock = TargetFacts(**ReferenceTarget(StackSettings(profile="default")).facts())
    tuned = TargetFacts(**ReferenceTarget(StackSettings()).facts())
    assert (stock.profile, tuned.profile) == ("default", "tuned")
    assert shown(stock).startswith("reference (default profile), compose sha256 ")
    assert shown(tuned).startswith("reference, compose sha256 ")


def test_validate_refuses_a_profile_on_a_users_stack_as_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = REPO_ROOT / "tests" / "stacks" / "shop-ml" / "shop-ml.target.yaml"
    path = tmp_path / "kill.yaml"
    path.write_text(
        f"name: kill\ntarget: {shop}\nstack: {{profile: default}}\nload: {{users: 0, probe_rate: 50}}\n"
        "timeline:\n  - {at: 2s, action: kill, target: app-1, duration: 4s}\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is a setting of the reference stack, not of shop-ml" in err and "drop stack.profile" in err

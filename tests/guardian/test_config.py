"""Guardian settings from the environment, and the golden request file."""

from __future__ import annotations

from pathlib import Path

import pytest
from guardian.config import FLAGGER_LIKE, Address, ConfigError, Settings
from guardian.prober import GoldenFileError, load_golden

from tests.conftest import REPO

ENV = {
    "LISTEN": "0.0.0.0:8090",
    "REGISTRY_DIR": "/fixtures/models",
    "VALIDATION_FILE": "/fixtures/requests/validation.jsonl",
    "REPLICAS": "model-a=model-a:8001,model-b=model-b:8002",
}


def test_defaults_roll_back_in_seconds_and_flagger_like_in_minutes() -> None:
    settings = Settings.from_env(ENV, runtime_api="gateway:8405")
    assert settings.replicas == {"model-a": Address("model-a", 8001), "model-b": Address("model-b", 8002)}
    assert settings.runtime_api == Address("gateway", 8405)
    assert settings.timing.eval_interval_s == 0.25 and settings.thresholds.min_samples == 20
    flagger = Settings.from_env({**ENV, **FLAGGER_LIKE})
    assert flagger.timing.eval_interval_s == 60 and flagger.thresholds.failure_threshold == 5


def test_no_runtime_api_means_canaries_without_weights() -> None:
    assert Settings.from_env(ENV).runtime_api is None
    with pytest.raises(ConfigError, match="--runtime-api='gateway': expected host:port"):
        Settings.from_env(ENV, runtime_api="gateway")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REPLICAS", "model-a:8001", "REPLICAS='model-a:8001': expected name=host:port"),
        ("CANARY_REPLICA", "model-c", "CANARY_REPLICA='model-c' is not one of REPLICAS"),
        ("MIN_SAMPLES", "2.5", "MIN_SAMPLES='2.5': expected an integer"),
        ("EVAL_INTERVAL_S", "0", "EVAL_INTERVAL_S='0': expected a number > 0"),
        ("LISTEN", "", "LISTEN is required"),
    ],
)
def test_a_bad_variable_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({**ENV, name: value})


def test_golden_requests_load_and_a_bad_line_is_named(tmp_path: Path) -> None:
    golden = load_golden(REPO / "fixtures" / "requests" / "validation.jsonl")
    assert len(golden) == 200 and all(0 <= item.label <= 9 for item in golden)
    bad = tmp_path / "golden.jsonl"
    bad.write_text('{"features": [1.0], "label": 3}\n')
    with pytest.raises(GoldenFileError, match=rf"{bad}:1: expected"):
        load_golden(bad)


def test_the_flagger_like_profile_is_chosen_by_one_variable_and_explicit_values_win() -> None:
    settings = Settings.from_env({**ENV, "PROFILE": "flagger-like", "FAILURE_THRESHOLD": "2"})
    assert settings.timing.eval_interval_s == 60 and settings.thresholds.failure_threshold == 2
    with pytest.raises(ConfigError, match="PROFILE='flagger': expected one of default, flagger-like"):
        Settings.from_env({**ENV, "PROFILE": "flagger"})

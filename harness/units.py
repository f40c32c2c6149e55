"""Units written in scenario and target files: durations (`250ms`, `30s`, `2m`) and fractions (`99.9%`),
with bounds whose errors say why they are there."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo

from harness.yaml_model import Tip

_DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_RUN_S = 24 * 3600.0
RUN_LIMIT_WHY = (
    "no run may last longer, as every request is kept in memory until the run is scored "
    "(a day at 100 probes/s is 8.6 million); a failover test lasts minutes, so this is most likely a wrong unit"
)


def parse_duration(value: Any) -> float:
    """'250ms' -> 0.25; bare numbers are seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 250ms, 30s or 2m")
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a duration; write it like 250ms, 30s or 2m")
    return float(match["value"]) * _UNIT_SECONDS[match["unit"]]


def parse_fraction(value: Any) -> float:
    """'99.9%' -> 0.999; bare numbers must already be fractions in [0, 1]."""
    if isinstance(value, bool):
        raise ValueError("expected a percentage like 99.9%")
    text = str(value).strip()
    try:
        number = round(float(text[:-1]) / 100, 12) if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"'{value}' is not a percentage; write it like 99.9%") from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"'{value}' is not between 0% and 100%")
    return number


def format_duration(value: float) -> str:
    """0.25 -> '250ms', 120 -> '2m', 7200 -> '2h', 90 -> '90s'."""
    if 0 < value < 1:
        return f"{value * 1000:g}ms"
    if 3600 <= value <= MAX_RUN_S and value % 3600 == 0:
        return f"{value / 3600:g}h"
    if 60 <= value <= MAX_RUN_S and value % 60 == 0:
        return f"{value / 60:g}m"
    return f"{value:g}s"


def at_most(limit: float, why: str, show: Callable[[float], str] = "{:g}".format) -> AfterValidator:
    """An upper bound whose error says why it is there (pydantic's `le` cannot)."""

    def check(value: float) -> float:
        if value > limit:
            raise ValueError(f"{show(value)} is more than {show(limit)}: {why}")
        return value

    return AfterValidator(check)


def at_least(limit: float, why: str, show: Callable[[float], str] = "{:g}".format) -> AfterValidator:
    def check(value: float) -> float:
        if value < limit:
            raise ValueError(f"{show(value)} is less than {show(limit)}: {why}")
        return value

    return AfterValidator(check)


_DURATION_PARSER = BeforeValidator(parse_duration)
Duration = Annotated[
    float,
    _DURATION_PARSER,
    Field(ge=0, allow_inf_nan=False),
    at_most(MAX_RUN_S, RUN_LIMIT_WHY, format_duration),
    Tip("durations look like 250ms, 30s or 2m (a bare number is seconds)"),
]
Fraction = Annotated[
    float,
    BeforeValidator(parse_fraction),
    Tip("percentages look like 99.9% (from 0% to 100%); a bare number is a fraction such as 0.999"),
]


class Strict(BaseModel):
    """Unknown keys are errors and values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, defer_build=True)
    """defer_build: a model is compiled when first used, so `failover inject` does not pay for every fault type's."""


def is_duration(field_info: FieldInfo) -> bool:
    """Whether a model field holds a `Duration` (also as `Duration | None`), so it is shown as one."""
    if _DURATION_PARSER in field_info.metadata:
        return True
    return any(_DURATION_PARSER in getattr(part, "__metadata__", ()) for part in get_args(field_info.annotation))

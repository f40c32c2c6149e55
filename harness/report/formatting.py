"""How numbers read in every report: one place, so console, Markdown, JUnit and HTML agree."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.result import FaultScore, FaultWindow, SLOResult

MISSING = "—"


def seconds(value: float | None) -> str:
    """0.25 -> '250 ms', 2.345 -> '2.35 s'; None -> '—'."""
    if value is None:
        return MISSING
    if abs(value) < 1:
        return f"{value * 1000:.3g} ms"
    return f"{value:.2f} s"


def rate(value: float) -> str:
    """2/3 -> '67%' (a pass rate: whole percent)."""
    return f"{value:.0%}"


def fraction(value: float | None) -> str:
    """0.999 -> '99.9%', 1.0 -> '100%'; None -> '—'."""
    if value is None:
        return MISSING
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def bracket(value: tuple[float, float] | None) -> str:
    """(2.1, 2.35) -> '2.10–2.35 s', in the unit of the upper bound."""
    if value is None:
        return MISSING
    lower, upper = value
    if upper < 1:
        return f"{lower * 1000:.3g}–{upper * 1000:.3g} ms"
    return f"{lower:.2f}–{upper:.2f} s"


def count(value: int) -> str:
    return f"{value:,}"


def slo_value(value: float | None, unit: str) -> str:
    return seconds(value) if unit == "s" else fraction(value)


def slo_target(slo: SLOResult) -> str:
    """Durations are ceilings ('≤ 5.00 s'), fractions are floors ('≥ 99.9%')."""
    comparator = "≤" if slo.unit == "s" else "≥"
    return f"{comparator} {slo_value(slo.target, slo.unit)}"


def slo_measured(slo: SLOResult) -> str:
    return "not measured" if slo.measured is None else slo_value(slo.measured, slo.unit)


def slo_miss(slo: SLOResult) -> str:
    """'rto missed: target ≤ 5.00 s, measured 7.20 s' (or '..., not measured')."""
    measured = "not measured" if slo.measured is None else f"measured {slo_measured(slo)}"
    return f"{slo.name} missed: target {slo_target(slo)}, {measured}"


def rto(score: FaultScore) -> str:
    """'7.20 s [6.95–7.20 s]', or 'not recovered'."""
    if score.rto_s is None:
        return "not recovered"
    return f"{seconds(score.rto_s)} [{bracket(score.rto_bracket_s)}]"


def fault_label(fault: FaultWindow) -> str:
    """'kill model-a'."""
    return f"{fault.type} {fault.target}"


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(start: float, end: float) -> str:
    """'2023-11-14 22:13:20 → 22:14:20 UTC' (the date repeated only when it changes)."""
    first, last = timestamp(start), timestamp(end)
    same_day = first[:10] == last[:10]
    return f"{first[:-4]} → {last[11:] if same_day else last}"


def offset(epoch: float | None, start: float) -> str:
    """Seconds since the run started: '+12.3 s'."""
    return MISSING if epoch is None else f"+{epoch - start:.1f} s"

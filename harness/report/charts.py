"""The timeline chart: throughput, error rate, latency and (with labels) accuracy, with the faults and
recoveries on it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from harness.report import formatting as fmt
from harness.result import FaultScore, FaultWindow

SIZE_INCHES = (11, 7)
LANE_INCHES = {"states": 1.4, "accuracy": 1.6}
"""Height each optional lane adds."""
STATE_COLOURS = {"UP": "#22c55e", "DOWN": "#dc2626", "other": "#f59e0b"}
DPI = 100
FAULT_COLOUR = "#f97316"
RECOVERY_COLOUR = "#16a34a"
ACCURACY_COLOUR = "#2563eb"
QUALITY_COLOUR = "#9333ea"
PHASE_LETTERS = {"detect": "D", "decide": "d", "rollback": "R", "verified": "V"}
LATENCY_COLOURS = {"p50": "#0f766e", "p95": "#d97706", "p99": "#7c3aed"}
STYLE: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": "#374151",
    "xtick.color": "#4b5563",
    "ytick.color": "#4b5563",
}


@dataclass(frozen=True)
class Recovery:
    """When service came back, in epoch seconds, and the bracket the true moment lies in."""

    at: float
    bracket: tuple[float, float] | None


def recoveries_of(scores: Sequence[FaultScore]) -> list[Recovery]:
    """The recovery moment (injected_at + RTO) of every fault that recovered."""
    return [
        _recovery(score.fault.injected_at, score.rto_s, score.rto_bracket_s)
        for score in scores
        if score.rto_s is not None
    ]


@dataclass(frozen=True)
class QualityMarks:
    """What the accuracy lane marks: the accuracy target, each fault's quality recovery and its
    rollback phases (kind, epoch seconds)."""

    target: float | None = None
    recoveries: tuple[float, ...] = ()
    phases: tuple[tuple[str, float], ...] = ()


def quality_marks_of(scores: Sequence[FaultScore]) -> QualityMarks:
    """The accuracy target (the first fault's `accuracy` SLO), quality recoveries and rollback phases."""
    targets = [slo.target for score in scores for slo in score.slos if slo.name == "accuracy"]
    return QualityMarks(
        target=targets[0] if targets else None,
        recoveries=tuple(
            score.fault.injected_at + score.quality_rto_s for score in scores if score.quality_rto_s is not None
        ),
        phases=tuple(
            (phase.kind, score.fault.injected_at + phase.at_s)
            for score in scores
            for phase in score.quality.phases
            if phase.at_s is not None
        ),
    )


def _recovery(injected_at: float, rto_s: float, bracket: tuple[float, float] | None) -> Recovery:
    absolute = None if bracket is None else (injected_at + bracket[0], injected_at + bracket[1])
    return Recovery(at=injected_at + rto_s, bracket=absolute)


def timeline_png(
    buckets: pd.DataFrame,
    faults: Sequence[FaultWindow],
    recoveries: Sequence[Recovery],
    start: float | None = None,
    server_states: pd.DataFrame | None = None,
    quality: QualityMarks | None = None,
) -> bytes:
    """A PNG of the run; x is seconds since `start` (default: the first bucket).

    When some bucket has an `accuracy` (labelled answers), a lane shows it, with the `quality`
    marks. With `server_states` (t, server, state rows, one per change), a last lane shows what
    HAProxy thought of each server: the stack's own view of the fault."""
    origin = float(buckets["t"].min()) if start is None else start
    x = buckets["t"] - origin
    end = float(x.max()) + _bucket_width(x)
    states = server_states is not None and not server_states.empty
    accuracy = "accuracy" in buckets and bool(buckets["accuracy"].notna().any())
    ratios = (1, 1, 1.3) + ((0.9,) if accuracy else ()) + ((0.7,) if states else ())
    height = SIZE_INCHES[1] + LANE_INCHES["accuracy"] * accuracy + LANE_INCHES["states"] * states
    with mpl.rc_context(STYLE):
        figure = Figure(figsize=(SIZE_INCHES[0], height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)
        _throughput(axes[0], x, buckets)
        _error_rate(axes[1], x, buckets)
        _latency(axes[2], x, buckets)
        if accuracy:
            _accuracy(axes[3], x, buckets, quality or QualityMarks(), origin)
        if states and server_states is not None:
            _server_states(axes[-1], server_states, origin, end)
        for ax in axes:
            _shade_faults(ax, faults, origin, end)
            _mark_recoveries(ax, recoveries, origin)
        _label_faults(axes[0], faults, origin)
        axes[-1].set_xlabel("seconds since run start")
        axes[-1].set_xlim(float(x.min()), end)
        handles = _legend_handles(states, accuracy, bool(quality and quality.phases))
        columns = len(handles) if len(handles) <= 3 else -(-len(handles) // 2)  # two rows past three
        figure.legend(handles=handles, loc="outside upper right", ncols=columns, frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def state_segments(states: pd.DataFrame, origin: float, end: float) -> dict[str, list[tuple[float, float, str]]]:
    """Per server, (start, width, state) spans in seconds since `origin`, each lasting until the next change."""
    segments: dict[str, list[tuple[float, float, str]]] = {}
    for server, rows in states.sort_values("t").groupby("server", sort=False):
        starts = [float(t) - origin for t in rows["t"]]
        stops = [*starts[1:], end]
        spans = zip(starts, stops, rows["state"], strict=True)
        segments[str(server)] = [(begin, stop - begin, str(state)) for begin, stop, state in spans if stop > begin]
    return segments


def state_colour(state: str) -> str:
    """UP green, DOWN red (also a health check's 'DOWN (HTTP 503)', with its cause), anything in
    between (UP 1/3, NOLB, MAINT, ...) amber."""
    if state == "UP":
        return STATE_COLOURS["UP"]
    if state == "DOWN" or state.startswith("DOWN ("):
        return STATE_COLOURS["DOWN"]
    return STATE_COLOURS["other"]


def _server_states(ax: Axes, states: pd.DataFrame, origin: float, end: float) -> None:
    segments = state_segments(states, origin, end)
    names = sorted(segments)
    for row, server in enumerate(names):
        spans = segments[server]
        ax.broken_barh(
            [(begin, width) for begin, width, _ in spans],
            (row - 0.35, 0.7),
            facecolors=[state_colour(state) for _, _, state in spans],
            linewidth=0,
        )
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.set_title("Server state (the target's own down-signals)")


def _bucket_width(x: pd.Series) -> float:
    steps = x.diff().dropna()
    return float(steps.median()) if len(steps) else 1.0


def _throughput(ax: Axes, x: pd.Series, buckets: pd.DataFrame) -> None:
    ax.fill_between(x, buckets["throughput"], step="post", color="#2563eb", alpha=0.15, linewidth=0)
    ax.step(x, buckets["throughput"], where="post", color="#2563eb", linewidth=1.4)
    ax.set_title("Throughput (req/s)")
    ax.set_ylim(bottom=0)


def _error_rate(ax: Axes, x: pd.Series, buckets: pd.DataFrame) -> None:
    percent = buckets["error_rate"] * 100
    ax.fill_between(x, percent, step="post", color="#dc2626", alpha=0.15, linewidth=0)
    ax.step(x, percent, where="post", color="#dc2626", linewidth=1.4)
    ax.set_title("Error rate (%)")
    ax.set_ylim(0, max(1.0, float(percent.max())) * 1.08)


def _latency(ax: Axes, x: pd.Series, buckets: pd.DataFrame) -> None:
    for column, colour in LATENCY_COLOURS.items():
        ax.step(x, buckets[column] * 1000, where="post", color=colour, linewidth=1.3, label=column)
    if (buckets[list(LATENCY_COLOURS)] > 0).any().any():
        ax.set_yscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)  # within one decade matplotlib labels minor ticks '6×10⁰'
    ax.set_title("Latency (ms)")
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=3, frameon=False, fontsize=9, borderaxespad=0.2)


def _accuracy(ax: Axes, x: pd.Series, buckets: pd.DataFrame, marks: QualityMarks, origin: float) -> None:
    """Accuracy of the labelled answers per bucket (gaps where none), the target, the quality
    recoveries, and the rollback phases as letters along the top."""
    percent = buckets["accuracy"] * 100
    ax.step(x, percent, where="post", color=ACCURACY_COLOUR, linewidth=1.4)
    if marks.target is not None:
        ax.axhline(marks.target * 100, color="#6b7280", linestyle=":", linewidth=1.2)
    for moment in marks.recoveries:
        ax.axvline(moment - origin, color=QUALITY_COLOUR, linestyle="--", linewidth=1.3)
    transform = blended_transform_factory(ax.transData, ax.transAxes)
    for kind, moment in marks.phases:
        ax.axvline(moment - origin, ymin=0.8, color=QUALITY_COLOUR, linewidth=1.0)
        letter = PHASE_LETTERS[kind]
        ax.text(moment - origin, 0.99, letter, transform=transform, ha="center", va="bottom", fontsize=8,
                color=QUALITY_COLOUR, fontweight="bold")
    low = float(percent.min()) if percent.notna().any() else 0.0
    ax.set_ylim(max(0.0, min(low, (marks.target or 1.0) * 100) - 5), 103)
    ax.set_title("Accuracy of labelled answers (%)")


def _shade_faults(ax: Axes, faults: Sequence[FaultWindow], origin: float, end: float) -> None:
    for fault in faults:
        stop = end if fault.reverted_at is None else fault.reverted_at - origin
        ax.axvspan(fault.injected_at - origin, stop, color=FAULT_COLOUR, alpha=0.12, linewidth=0)


def _mark_recoveries(ax: Axes, recoveries: Sequence[Recovery], origin: float) -> None:
    for recovery in recoveries:
        if recovery.bracket is not None:
            lower, upper = recovery.bracket
            ax.axvspan(lower - origin, upper - origin, color=RECOVERY_COLOUR, alpha=0.25, linewidth=0)
        ax.axvline(recovery.at - origin, color=RECOVERY_COLOUR, linestyle="--", linewidth=1.3)


def _label_faults(ax: Axes, faults: Sequence[FaultWindow], origin: float) -> None:
    transform = blended_transform_factory(ax.transData, ax.transAxes)
    for fault in faults:
        ax.text(
            fault.injected_at - origin,
            0.96,
            f" {fmt.fault_label(fault)}",
            transform=transform,
            va="top",
            ha="left",
            fontsize=9,
            color="#9a3412",
            fontweight="bold",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5},
        )


def _legend_handles(with_states: bool, with_accuracy: bool = False, with_phases: bool = False) -> list[Patch | Line2D]:
    handles: list[Patch | Line2D] = [
        Patch(color=FAULT_COLOUR, alpha=0.25, label="fault window"),
        Line2D([], [], color=RECOVERY_COLOUR, linestyle="--", label="recovery (injection + RTO)"),
        Patch(color=RECOVERY_COLOUR, alpha=0.3, label="RTO bracket"),
    ]
    if with_accuracy:
        handles += [
            Line2D([], [], color="#6b7280", linestyle=":", label="accuracy target"),
            Line2D([], [], color=QUALITY_COLOUR, linestyle="--", label="quality recovery"),
        ]
    if with_phases:
        handles.append(Line2D([], [], color=QUALITY_COLOUR, label="D detect, d decide, R rollback, V verified"))
    if with_states:
        handles += [
            Patch(color=STATE_COLOURS["UP"], label="UP"),
            Patch(color=STATE_COLOURS["other"], label="going up/down"),
            Patch(color=STATE_COLOURS["DOWN"], label="DOWN"),
        ]
    return handles

"""The small trend chart of a scenario in the suite page: p95 RTO per fault over its last runs
(from `reports/history.jsonl`), each point coloured by that run's verdict."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SIZE_INCHES = (4.2, 1.6)
DPI = 90
MAX_FAULTS = 3
VERDICT_COLOURS = {"pass": "#15803d", "fail": "#b91c1c", "aborted": "#b45309", "error": "#374151"}
LINE_COLOURS = ("#2563eb", "#9333ea", "#0f766e")


def trend_png_base64(lines: Sequence[dict[str, Any]]) -> str | None:
    """A base64 PNG of the p95 RTO of each fault (the first `MAX_FAULTS`) over `lines` (oldest first);
    a run that never recovered is drawn as an x at the top. None with fewer than two runs."""
    if len(lines) < 2:
        return None
    with mpl.rc_context(
        {"font.family": "DejaVu Sans", "font.size": 7.5, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.color": "#e5e7eb", "axes.edgecolor": "#9ca3af"}
    ):  # fmt: skip
        figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        ax = figure.subplots()
        top = max((f.get("rto_p95_s") or 0.0 for line in lines for f in line.get("faults", [])), default=0.0) or 1.0
        for slot in range(MAX_FAULTS):
            _fault_line(ax, lines, slot, top * 1.15)
        ax.set_ylim(0, top * 1.25)
        ax.set_ylabel("p95 RTO (s)")
        ax.set_xlabel("run (oldest to newest)")
        ax.set_xticks(range(len(lines)))
        ax.set_xticklabels([str(i + 1) for i in range(len(lines))])
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _fault_line(ax: Any, lines: Sequence[dict[str, Any]], slot: int, never_at: float) -> None:
    xs, ys, colours, markers, label = [], [], [], [], ""
    for x, line in enumerate(lines):
        faults = line.get("faults", [])
        if slot >= len(faults):
            continue
        fault = faults[slot]
        label = fault.get("fault", "")
        never = fault.get("rto_p95_s") is None and fault.get("rto_never", 0) > 0
        if fault.get("rto_p95_s") is None and not never:
            continue
        xs.append(x)
        ys.append(never_at if never else fault["rto_p95_s"])
        colours.append(VERDICT_COLOURS.get(line.get("verdict", ""), "#6b7280"))
        markers.append("x" if never else "o")
    if not xs:
        return
    ax.plot(xs, ys, color=LINE_COLOURS[slot], linewidth=1, label=label)
    for x, y, colour, marker in zip(xs, ys, colours, markers, strict=True):
        ax.scatter([x], [y], color=colour, marker=marker, s=14, zorder=3)
    if slot == 0 or len(label) > 0:
        ax.legend(loc="upper left", frameon=False, fontsize=6.5)

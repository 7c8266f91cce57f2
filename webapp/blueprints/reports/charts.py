"""The reports' charts as server-drawn SVG geometry (no chart library, no script), like the
dashboard's: a bar pair (p50, p90) per state, and a stacked bar per day of throughput.

Only positions and sizes are computed here; the templates draw them with a title and a
description, and the same numbers are in the tables beside them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webapp.core.reports.queries import StateTime

#: Series colours (static/css/reports.css has as many classes: series-0 ... series-9).
SERIES = 10


def hours_text(hours: float | None) -> str:
    """A stay for people: ``45 min``, ``5.2 h``, ``3.4 days``; nothing as a dash."""
    if hours is None:
        return "–"
    if hours < 1:
        return f"{round(hours * 60):,} min"
    if hours < 48:
        return f"{hours:,.1f} h"
    return f"{hours / 24:,.1f} days"


# ------------------------------------------------------------------ time in state


@dataclass(frozen=True)
class PairRow:
    state: str
    label: str
    y: int
    p50: float | None
    p90: float | None
    p50_width: int
    p90_width: int


@dataclass
class TimeChart:
    LABEL_WIDTH = 150
    PLOT_WIDTH = 340
    WIDTH = LABEL_WIDTH + PLOT_WIDTH + 90
    ROW_HEIGHT = 34
    BAR_HEIGHT = 12
    rows: list[PairRow] = field(default_factory=list)

    @property
    def height(self) -> int:
        return self.ROW_HEIGHT * len(self.rows) + 4


def time_chart(times: list[StateTime]) -> TimeChart:
    """One row per state with stays (p50 above p90), scaled to the longest p90."""
    chart = TimeChart()
    measured = [t for t in times if t.p90_hours is not None]
    peak = max((t.p90_hours or 0 for t in measured), default=0) or 1

    def width(h: float | None) -> int:
        return max(2, round(TimeChart.PLOT_WIDTH * h / peak)) if h else 0

    for i, t in enumerate(measured):
        chart.rows.append(PairRow(t.state, t.label, i * TimeChart.ROW_HEIGHT + 2, t.p50_hours,
                                  t.p90_hours, width(t.p50_hours), width(t.p90_hours)))
    return chart


# ------------------------------------------------------------------ throughput


@dataclass(frozen=True)
class Segment:
    state: str
    label: str
    series: int
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    date: str
    x: float
    total: int
    segments: list[Segment]
    #: The date written under the column (every few columns only).
    tick: bool


@dataclass
class StackChart:
    LEFT = 56
    PLOT_WIDTH = 660
    PLOT_HEIGHT = 200
    TOP = 8
    WIDTH = LEFT + PLOT_WIDTH + 8
    HEIGHT = TOP + PLOT_HEIGHT + 28
    peak: int = 0
    bar_width: float = 0
    columns: list[Column] = field(default_factory=list)
    #: (state, label, series) in stacking order, for the legend.
    series: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def baseline(self) -> int:
        return self.TOP + self.PLOT_HEIGHT


def stack_chart(days: list[dict[str, Any]], labels: dict[str, str]) -> StackChart:
    """One column per day, its entries stacked by state (workflow order from the bottom),
    scaled to the busiest day."""
    states = list(labels)
    chart = StackChart(series=[(s, labels[s], i % SERIES) for i, s in enumerate(states)])
    chart.peak = max((sum(d[s] for s in states) for d in days), default=0)
    slot = StackChart.PLOT_WIDTH / max(1, len(days))
    chart.bar_width = max(1.0, slot * 0.8)
    scale = StackChart.PLOT_HEIGHT / (chart.peak or 1)
    every = max(1, round(len(days) / 8))
    for i, day in enumerate(days):
        y, segments = float(chart.baseline), []
        for state, label, series in chart.series:
            n = day[state]
            if n:
                h = n * scale
                y -= h
                segments.append(Segment(state, label, series, n, round(y, 2), round(h, 2)))
        chart.columns.append(Column(day["date"], round(StackChart.LEFT + i * slot + slot * 0.1, 2),
                                    sum(s.count for s in segments), segments,
                                    i % every == 0 or i == len(days) - 1))
    return chart

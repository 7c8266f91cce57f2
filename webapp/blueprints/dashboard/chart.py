"""A bar chart of entities per status, drawn as server-side SVG (no chart library, no script).

Each type gets its own small chart scaled to its own largest status, so a type with forty
builders is as readable as one with half a million properties.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from webapp.core.workflows.definition import Workflow

LABEL_WIDTH = 140
BAR_AREA = 190
COUNT_WIDTH = 70
WIDTH = LABEL_WIDTH + BAR_AREA + COUNT_WIDTH
ROW_HEIGHT = 24
BAR_HEIGHT = 16


@dataclass(frozen=True)
class Bar:
    status: str
    label: str
    category: str
    count: int
    y: int
    width: int


@dataclass
class TypeChart:
    type: str
    label: str
    bars: list[Bar] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(b.count for b in self.bars)

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.bars) + 4


def build(counts: list[tuple[str, str, int]], workflows: dict[str, Workflow]) -> list[TypeChart]:
    """One chart per workflow type, every state of the workflow shown (zero included)."""
    by_type: dict[str, dict[str, int]] = defaultdict(dict)
    for type_, status, n in counts:
        by_type[type_][status] = n
    return [_chart(type_, wf, by_type.get(type_, {})) for type_, wf in workflows.items()]


def _chart(type_: str, wf: Workflow, counts: dict[str, int]) -> TypeChart:
    # States no longer in the workflow still have entities: show them after the known ones.
    names = list(wf.states) + sorted(set(counts) - set(wf.states))
    peak = max(counts.values(), default=0) or 1
    chart = TypeChart(type_, wf.label)
    for i, name in enumerate(names):
        state = wf.states.get(name)
        n = counts.get(name, 0)
        width = max(2, round(BAR_AREA * n / peak)) if n else 0
        chart.bars.append(Bar(name, state.label if state else name,
                              state.category if state else "closed", n, i * ROW_HEIGHT + 2, width))
    return chart

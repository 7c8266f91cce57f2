"""The state diagram's layout (pure Python; the browser test looks at the drawing itself)."""
from __future__ import annotations

import pytest

from webapp.blueprints.workflows.diagram import LABEL_H, layout
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows import registry

BUILTIN = [(name, doc) for pack in registry.PACKS
           for name, doc in registry.load_pack(pack)["types"].items()]


def boxes_overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize(("entity_type", "doc"), BUILTIN, ids=[n for n, _ in BUILTIN])
def test_every_builtin_workflow_is_drawn_with_no_box_over_another_or_over_a_label(
        entity_type, doc):
    wf = wfmod.parse(entity_type, doc)

    drawing = layout(wf)

    assert sorted(n.name for n in drawing.nodes) == sorted(wf.states)
    moves = sorted((s, t.name, t.target) for s in wf.states for t in wf.transitions_from(s))
    assert sorted((e.source, e.name, e.target) for e in drawing.edges) == moves
    boxes = [(n.x, n.y, n.w, n.h) for n in drawing.nodes]
    labels = [(e.label_x - e.label_w / 2, e.label_y - LABEL_H / 2 + 2, e.label_w, LABEL_H - 4)
              for e in drawing.edges]
    assert not any(boxes_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert not any(boxes_overlap(a, b) for a in labels for b in boxes)
    assert all(0 <= x <= drawing.width and 0 <= y <= drawing.height
               for e in drawing.edges for x, y in e.points)


def test_arrows_go_left_to_right_except_the_ways_back():
    wf = wfmod.parse("property", dict(BUILTIN)["property"])

    drawing = layout(wf)

    column = {n.name: n.layer for n in drawing.nodes}
    back = {(e.source, e.target) for e in drawing.edges if e.back}
    assert back == {("pending", "available"), ("reserved", "available"),
                    ("under_contract", "available"), ("off_market", "available")}
    assert all(column[e.source] < column[e.target] for e in drawing.edges if not e.back)
    assert column["available"] == 0 and column["sold"] == max(column.values())


def test_a_state_nothing_leads_to_is_marked_unreachable_and_a_wildcard_fans_out():
    wf = wfmod.parse("thing", {
        "initial": "new",
        "states": {"new": {}, "used": {}, "lost": {}, "gone": {"category": "closed",
                                                               "terminal": True}},
        "transitions": [{"name": "use", "from": ["new"], "to": "used"},
                        {"name": "bin", "from": "*", "to": "gone"}]})

    drawing = layout(wf)

    assert {n.name for n in drawing.nodes if not n.reachable} == {"lost"}
    assert sorted(e.source for e in drawing.edges if e.name == "bin") == ["lost", "new", "used"]

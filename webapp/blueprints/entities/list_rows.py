"""The entity list's table rows, formatted and written as HTML here: ``_rows.html`` places
the table body whole.

Each of a row's ~18 values went through Jinja's autoescape, markupsafe's ``escape``, which
builds a ``Markup`` object per value (1.6 µs apiece on the benchmark machine): 50 rows cost
1.1 ms in the template, three times the minimal page's whole table (bench/list_load.py,
BENCHMARKS.md). Here a row is one f-string: what is the same on every row (a state's name,
label and category; the head of an entity's address) is escaped once per page, what is made
of numbers and dates (ids, times, "3 days ago") holds nothing to escape, and each row's own
text (its name, its parent's name, its field cells, its SLA badge) is escaped as Jinja would
(``markupsafe.escape``, the same output). tests/web/test_entities_list_cells.py pins the
markup.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from flask import url_for
from markupsafe import Markup, escape

from webapp.blueprints.entities.sla import TONES
from webapp.core.lists.rows import Summary
from webapp.core.timing.slas import Badge
from webapp.core.workflows.definition import Workflow


def table_body(entities: Sequence[Summary], wf: Workflow, at: datetime, fields: Sequence[str],
               bulk: bool, badges: Mapping[int, Badge]) -> Markup:
    """The ``<tr>`` of each entity: the bulk checkbox (``bulk``), id, name, status, last
    activity, its field cells (``fields``: each row's cells as markup, list_fields.cells), the
    SLA badge (a type with SLAs: ``badges``) and the parent. One pass, one f-string a row:
    row and cell tuples made first and written second cost 8 % more (0.95 against 0.88 ms
    for 50 rows, in-process)."""
    show = _escaped(entity_address())
    states = {name: (escape(name), escape(state.label), escape(state.category))
              for name, state in wf.states.items()}
    return Markup("\n".join(_row(e, show, states, at, bulk, cells, badges)
                             for e, cells in zip(entities, fields, strict=True)))


def _row(e: Summary, show: Callable[[int], str], states: Mapping[str, tuple[str, str, str]],
         at: datetime, bulk: bool, cells: str, badges: Mapping[int, Badge]) -> str:
    when = e.last_activity_at.isoformat()  # UTC: "2026-10-12T14:33:20.652849+00:00"
    status, status_label, category = states.get(e.status) or (escape(e.status),) * 2 + ("none",)
    name, parent = escape(e.name), e.parent_id
    check = (f'<td class="check"><input type="checkbox" name="ids" value="{e.id}" '
             f'form="bulk-form" aria-label="Select {name}"></td>') if bulk else ""
    return (f'<tr>{check}<td class="num">{e.id}</td>'
            f'<td class="name"><a href="{show(e.id)}">{name}</a></td>'
            f'<td><span class="status cat-{category}" title="{status}">{status_label}</span></td>'
            f'<td><time datetime="{when}" title="{when[:10]} {when[11:16]} UTC">'
            f"{_ago((at - e.last_activity_at).days)}</time></td>"
            f"{cells}{_sla(badges[e.id]) if badges else ''}"
            f'<td class="parent">{_parent(show, parent, e.parent_name) if parent else _NO_PARENT}'
            f"</td></tr>")


def _ago(days: int) -> str:
    return "today" if days < 1 else "yesterday" if days == 1 else f"{days} days ago"


def _sla(b: Badge) -> str:
    return (f'<td class="sla"><span class="badge {TONES[b.tone]}" title="{escape(b.label)}">'
            f"{escape(b.text)}</span></td>")


_NO_PARENT = '<span class="muted">—</span>'


def _parent(show: Callable[[int], str], parent: int, known_as: str | None) -> str:
    name = escape(known_as or f"#{parent}")
    return f'<a href="{show(parent)}" title="{name}">{name}</a>'


_MARK = 918273645  # stands for the id while an entity's address is built by url_for


def entity_address() -> Callable[[int], str]:
    """``url_for("entities.show", entity_id=...)``, with the routing done once per page."""
    head, _, tail = url_for("entities.show", entity_id=_MARK).partition(str(_MARK))
    return lambda entity_id: f"{head}{entity_id}{tail}"


def _escaped(address: Callable[[int], str]) -> Callable[[int], str]:
    """``address`` escaped for an attribute (an id needs no escaping, so its head once)."""
    head, _, tail = address(_MARK).partition(str(_MARK))
    head, tail = escape(head), escape(tail)
    return lambda entity_id: f"{head}{entity_id}{tail}"

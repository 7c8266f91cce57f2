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

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from flask import url_for
from markupsafe import Markup, escape

from webapp.blueprints.entities.list_fields import Cell, FieldColumn
from webapp.blueprints.entities.sla import TONES
from webapp.core.lists.rows import Summary
from webapp.core.timing.slas import Badge
from webapp.core.workflows.definition import Workflow


class Row(NamedTuple):
    """One line of the table, its cells formatted and escaped: ready to be written."""

    id: int
    name: str
    href: str
    status: str
    status_label: str
    category: str
    activity_iso: str
    activity_title: str
    activity_ago: str
    parent_href: str | None
    parent_name: str | None


def table_rows(entities: Iterable[Summary], wf: Workflow, at: datetime) -> list[Row]:
    show = _escaped(entity_address())
    states = {name: (escape(name), escape(state.label), escape(state.category))
              for name, state in wf.states.items()}
    return [_row(e, show, states, at) for e in entities]


def _row(e: Summary, show: Callable[[int], str],
         states: Mapping[str, tuple[str, str, str]], at: datetime) -> Row:
    when = e.last_activity_at.isoformat()  # UTC: "2026-10-12T14:33:20.652849+00:00"
    parent = e.parent_id
    status, status_label, category = states.get(e.status) or (escape(e.status),) * 2 + ("none",)
    return Row(e.id, escape(e.name), show(e.id), status, status_label, category, when,
               f"{when[:10]} {when[11:16]} UTC", _ago((at - e.last_activity_at).days),
               show(parent) if parent else None,
               escape(e.parent_name or f"#{parent}") if parent else None)


def _ago(days: int) -> str:
    return "today" if days < 1 else "yesterday" if days == 1 else f"{days} days ago"


def table_body(rows: Sequence[Row], cells: Sequence[Sequence[Cell]], columns: Sequence[FieldColumn],
               bulk: bool, badges: Mapping[int, Badge]) -> Markup:
    """The ``<tr>`` of each row: the bulk checkbox (``bulk``), id, name, status, last
    activity, the field ``columns``' cells, the SLA badge (a type with SLAs: ``badges``)
    and the parent."""
    classes = ["num" if c.numeric else "" for c in columns]
    return Markup("\n".join(
        f"<tr>{_check(r) if bulk else ''}"
        f'<td class="num">{r.id}</td><td class="name"><a href="{r.href}">{r.name}</a></td>'
        f'<td><span class="status cat-{r.category}" title="{r.status}">{r.status_label}</span></td>'
        f'<td><time datetime="{r.activity_iso}" title="{r.activity_title}">{r.activity_ago}</time></td>'
        f"{''.join(map(_cell, classes, row_cells))}{_sla(badges[r.id]) if badges else ''}"
        f'<td class="parent">{_parent(r)}</td></tr>'
        for r, row_cells in zip(rows, cells, strict=True)))


def _check(r: Row) -> str:
    return (f'<td class="check"><input type="checkbox" name="ids" value="{r.id}" '
            f'form="bulk-form" aria-label="Select {r.name}"></td>')


def _cell(css: str, cell: Cell) -> str:
    text = escape(cell.text)
    return (f'<td class="{css}"><a href="{escape(cell.href)}">{text}</a></td>' if cell.href
            else f'<td class="{css}">{text}</td>')


def _sla(b: Badge) -> str:
    return (f'<td class="sla"><span class="badge {TONES[b.tone]}" title="{escape(b.label)}">'
            f"{escape(b.text)}</span></td>")


def _parent(r: Row) -> str:
    if r.parent_href is None:
        return '<span class="muted">—</span>'
    return f'<a href="{r.parent_href}" title="{r.parent_name}">{r.parent_name}</a>'


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

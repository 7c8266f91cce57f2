"""The entity list: filters, live search, sorting, keyset pages, bulk hand-over, CSV export."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from flask import Response, render_template, request, stream_with_context, url_for

from webapp.blueprints.entities import bp
from webapp.blueprints.entities.common import bulk_available, manager, workflows
from webapp.core.base import csvfile
from webapp.core.base.errors import InvalidInput
from webapp.core.lists import listing
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.models import Entity
from webapp.permissions import requires
from webapp.sensitive import data_view
from webapp.web_context import now

PAGE_SIZE = 50
#: The query parameters that make a filter (what "select all matching" hands to the bulk pages).
FILTER_PARAMS = ("type", "status", "q", "parent_id", "quiet_days")
#: Sortable columns: (parameter, heading).
COLUMNS = (("id", "ID"), ("name", "Name"), ("status", "Status"),
           ("last_activity_at", "Last activity"))


@dataclass
class ListView:
    """One list request, parsed: what the templates and the export need."""

    workflow: Workflow
    filters: listing.Filters
    sort: listing.Sort
    cursor: str | None
    params: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None

    def url(self, endpoint: str = "entities.index", **changes: Any) -> str:
        """This list's address with some parameters changed (None drops one)."""
        args = {k: v for k, v in {**self.params, "sort": self.sort.token, **changes}.items()
                if v not in (None, "")}
        return url_for(endpoint, **args)

    def sort_url(self, key: str) -> str:
        descending = not self.sort.descending if self.sort.key == key else key == "id"
        return self.url(sort=("-" if descending else "") + key, cursor=None)


def parse_list(args: Mapping[str, str], known: Mapping[str, Workflow]) -> ListView:
    """The list's parameters; a wrong value becomes a field error, never a 500."""
    type_ = args.get("type") or next(iter(known), "")
    if type_ not in known:
        raise InvalidInput(f"Unknown entity type {type_!r}.",
                           {"type": f"Choose one of: {', '.join(known)}."})
    params = {k: (args.get(k) or "").strip() for k in FILTER_PARAMS} | {"type": type_}
    notice = None
    if params["status"] and params["status"] not in known[type_].states:
        notice = f"{known[type_].label} has no status {params['status']!r}; showing every status."
        params["status"] = ""
    view = ListView(known[type_], listing.Filters(type=type_), listing.Sort(), None, params,
                    notice=notice)
    try:
        view.filters = listing.filters_from_params(params, now())
        view.sort = listing.Sort.parse(args.get("sort") or _default_sort(params))
        view.cursor = args.get("cursor") or None
    except InvalidInput as err:
        view.errors = err.fields or {"q": err.message}
    return view


def _default_sort(params: Mapping[str, str]) -> str:
    # Quiet entities are looked for oldest first; that order also walks the activity index.
    return "last_activity_at" if params.get("quiet_days") else "-id"


@bp.get("/")
@requires("view")
def index():
    known = workflows()
    if not known:
        return render_template("entities/index.html", view=None)
    view = parse_list(request.args, known)
    context = _results(view, known)
    template = "entities/_rows.html" if is_htmx() else "entities/index.html"
    return render_template(template, **context), 400 if view.errors else 200


def _results(view: ListView, known: Mapping[str, Workflow]) -> dict[str, Any]:
    found, total = listing.Page([], None, None), 0
    if not view.errors:
        try:
            found = listing.browse(db.session, manager().vocabulary, view.filters, view.sort,
                                   PAGE_SIZE, view.cursor, summaries=True)
            # A first page with no next page holds every match: no need to count them again.
            first_and_only = view.cursor is None and found.next_cursor is None
            total = (len(found.rows) if first_and_only
                     else listing.capped_count(db.session, manager().vocabulary, view.filters))
        except InvalidInput as err:
            view.errors = err.fields or {"cursor": err.message}
    categories = {name: state.category for name, state in view.workflow.states.items()}
    rows = table_rows(found.rows, categories, now())
    return {"view": view, "page": found, "rows": rows, "total": total, "cap": listing.COUNT_CAP,
            "types": known, "columns": COLUMNS, "bulk": bulk_available()}


class Row(NamedTuple):
    """One line of the table, its cells formatted here: the template only places them.

    Formatted in the template (a Jinja call per cell, ``url_for`` at ~20 µs for each link),
    50 rows cost about as much as the page's queries (bench/list_load.py, BENCHMARKS.md).
    """

    id: int
    name: str
    href: str
    status: str
    category: str
    activity_iso: str
    activity_title: str
    activity_ago: str
    parent_href: str | None
    parent_name: str | None


def table_rows(entities: Iterable[listing.Summary], categories: Mapping[str, str],
               at: datetime) -> list[Row]:
    show = entity_address()
    return [_row(e, show, categories, at) for e in entities]


def _row(e: listing.Summary, show: Callable[[int], str], categories: Mapping[str, str],
         at: datetime) -> Row:
    when = e.last_activity_at.isoformat()  # UTC: "2026-10-12T14:33:20.652849+00:00"
    parent = e.parent_id
    return Row(e.id, e.name, show(e.id), e.status, categories.get(e.status, "none"), when,
               f"{when[:10]} {when[11:16]} UTC", _ago((at - e.last_activity_at).days),
               show(parent) if parent else None,
               (e.parent_name or f"#{parent}") if parent else None)


def _ago(days: int) -> str:
    return "today" if days < 1 else "yesterday" if days == 1 else f"{days} days ago"


_MARK = 918273645  # stands for the id while an entity's address is built by url_for


def entity_address() -> Callable[[int], str]:
    """``url_for("entities.show", entity_id=...)``, with the routing done once per page."""
    head, _, tail = url_for("entities.show", entity_id=_MARK).partition(str(_MARK))
    return lambda entity_id: f"{head}{entity_id}{tail}"


@bp.get("/export.csv")
@requires("view")
def export():
    view = parse_list(request.args, workflows())
    if view.errors:
        raise InvalidInput("The filter is not valid.", view.errors)
    rows = listing.iterate(db.session, manager().vocabulary, view.filters, view.sort)
    filename = f"{view.filters.type}-entities.csv"
    return Response(stream_with_context(csvfile.lines(csv_rows(rows))), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


CSV_COLUMNS = ("id", "type", "name", "status", "version", "parent_id", "last_activity_at",
               "status_changed_at", "created_at", "updated_at", "data")


def csv_rows(rows: Iterable[Entity]) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per entity (``csvfile`` formats and guards the cells);
    sensitive fields masked for roles that may not read them."""
    yield CSV_COLUMNS
    shown = data_view()
    for e in rows:
        yield (e.id, e.type, e.name, e.status, e.version, e.parent_id, e.last_activity_at,
               e.status_changed_at, e.created_at, e.updated_at, shown.data(e.type, e.data))

"""The entity list: filters (declared fields too), live search, sorting, keyset pages, field
columns, the bulk hand-over (the CSV export and import are in transfer.py)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import render_template, request

from webapp.blueprints.entities import bp, field_values, list_fields, list_rows, saved
from webapp.blueprints.entities.common import bulk_available, manager, workflows
from webapp.blueprints.entities.list_fields import FieldColumn
from webapp.blueprints.entities.list_rows import entity_address
from webapp.core.base.errors import InvalidInput
from webapp.core.lists import listing
from webapp.core.timing import slas
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.permissions import can, requires
from webapp.web_context import link, now

PAGE_SIZE = 50
#: What werkzeug leaves unquoted in a query string (url_for's encoding, werkzeug/urls.py).
URL_SAFE = "!$'()*,/:;?@"
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
    #: The declared-field columns shown (list_fields.columns).
    columns: list[FieldColumn] = field(default_factory=list)
    #: What the parent box shows: the name typed, or the parent's "Name (#id)".
    parent_text: str = ""
    _pairs: dict[tuple[str, Any], str] = field(default_factory=dict, repr=False)

    def url(self, endpoint: str = "entities.index", **changes: Any) -> str:
        """This list's address with some parameters changed (None drops one): what
        ``url_for(endpoint, **args)`` makes (its query encoding too), with the route built
        once (a page has ~10 of these links; url_for cost ~40 µs each)."""
        pairs = [self._pair(k, v) for k, v in
                 {**self.params, "sort": self.sort.token, **changes}.items()
                 if v not in (None, "")]
        return link(endpoint) + ("?" + "&".join(pairs) if pairs else "")

    def _pair(self, key: str, value: Any) -> str:
        """``key=value`` as urlencode writes it, each made once per list request."""
        found = self._pairs.get((key, value))
        if found is None:
            found = self._pairs[key, value] = urlencode([(key, value)], safe=URL_SAFE)
        return found

    def sort_url(self, key: str) -> str:
        descending = not self.sort.descending if self.sort.key == key else key == "id"
        return self.url(sort=("-" if descending else "") + key, cursor=None)


def parse_list(args: Mapping[str, str], known: Mapping[str, Workflow]) -> ListView:
    """The list's parameters; a wrong value becomes a field error, never a 500."""
    type_ = args.get("type") or next(iter(known), "")
    if type_ not in known:
        raise InvalidInput(f"Unknown entity type {type_!r}.",
                           {"type": f"Choose one of: {', '.join(known)}."})
    wf = known[type_]
    params = {k: (args.get(k) or "").strip() for k in listing.FILTER_PARAMS} | {"type": type_}
    params |= list_fields.field_params(args, wf)  # type: ignore[arg-type]
    notice = None
    if params["status"] and params["status"] not in wf.states:
        notice = f"{wf.label} has no status {params['status']!r}; showing every status."
        params["status"] = ""
    view = ListView(wf, listing.Filters(type=type_), listing.Sort(), None, params,
                    notice=notice)
    parent = (args.get("parent") or "").strip()
    if parent and wf.parent_type:
        view.parent_text = parent
        try:
            params["parent_id"] = str(field_values.names().entity_id(wf.parent_type, parent))
        except LookupError as err:
            view.errors["parent"] = str(err)
    try:
        view.filters = listing.filters_from_params(params, now(), wf.fields, wf.label)
        view.sort = listing.Sort.parse(args.get("sort") or _default_sort(params), wf.fields,
                                       wf.label)
        view.cursor = args.get("cursor") or None
    except InvalidInput as err:
        view.errors |= err.fields or {"q": err.message}
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
    view.columns = list_fields.columns(view.workflow, saved.chosen_columns(view.workflow.entity_type))
    context = _results(view, known)
    template = "entities/_rows.html" if is_htmx() else "entities/index.html"
    return render_template(template, **context), 400 if view.errors else 200


def _results(view: ListView, known: Mapping[str, Workflow]) -> dict[str, Any]:
    found, total = listing.Page([], None, None), 0
    if not view.errors:
        try:
            found = listing.browse(db.session, manager().vocabulary, view.filters, view.sort,
                                   PAGE_SIZE, view.cursor, summaries=True,
                                   with_data=tuple(c.name for c in view.columns))
            # A first page with no next page holds every match: no need to count them again.
            first_and_only = view.cursor is None and found.next_cursor is None
            total = (len(found.rows) if first_and_only
                     else listing.capped_count(db.session, manager().vocabulary, view.filters))
        except InvalidInput as err:
            view.errors = err.fields or {"cursor": err.message}
    wf, bulk, rows, at = view.workflow, bulk_available(), found.rows, now()
    cells = list_fields.cells(wf, view.columns, rows, can("operate"), entity_address())
    badges = slas.page_badges(db.session, wf, [r.id for r in rows], at) if rows else {}
    if not view.parent_text and view.filters.parent_id:
        view.parent_text = list_fields.parent_text(
            str(view.filters.parent_id),
            field_values.names().names({view.filters.parent_id}).get(
                view.filters.parent_id))
    return {"view": view, "page": found, "rows": rows,
            "body": list_rows.table_body(rows, wf, at, cells, bulk, badges),
            "total": total, "cap": listing.COUNT_CAP, "types": known, "columns": COLUMNS,
            "bulk": bulk, "filter_inputs": list_fields.filter_inputs(wf, view.params),
            "choosable": list_fields.choosable(wf), "saved_views": saved.views_of(wf.entity_type)}

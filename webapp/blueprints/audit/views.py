"""Audit pages for auditors and admins: browse, read one entry, export, verify the chain."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from webapp.blueprints.audit import bp
from webapp.core.audit import chain as audit
from webapp.core.audit import queries as audit_queries
from webapp.core.base import csvfile
from webapp.core.base.errors import InvalidInput
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.models import AuditEntry, BulkOperation
from webapp.permissions import can, requires
from webapp.web_context import record_event

PAGE_SIZE = 50
log = logging.getLogger(__name__)


@bp.get("/")
@requires("audit")
def index():
    errors: dict[str, str] = {}
    try:
        filters = audit_queries.filters_from(request.args)
        page = audit_queries.page(db.session, filters, PAGE_SIZE, request.args.get("cursor"))
    except InvalidInput as err:
        errors = err.fields
        filters, page = audit_queries.AuditFilters(), audit_queries.Page([], None, None)
    context = {"page": page, "filters": filters, "errors": errors, "values": request.args,
               "event_types": audit_queries.event_types(db.session),
               "object_url": _object_linker()}
    if is_htmx():  # htmx swaps only 2xx answers, so field errors come back as 200
        return render_template("audit/_results.html", **context)
    return render_template("audit/index.html", **context), 400 if errors else 200


@bp.get("/<int:entry_id>")
@requires("audit")
def show(entry_id: int):
    entry = audit_queries.get(db.session, entry_id)
    return render_template("audit/show.html", entry=entry, changes=diff_rows(entry.diff or {}),
                           extra=(entry.diff or {}).get("extra") or {},
                           object_url=_object_linker()(entry), bulk=_bulk_operation(entry))


@bp.get("/export.csv")
@requires("audit")
def export():
    filters = audit_queries.filters_from(request.args)
    record_event("audit.export", "exported the audit log"
                 + (f" where {_describe(filters)}" if filters else ""))
    lines = csvfile.lines(audit_queries.csv_rows(db.session, filters))
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="audit-log.csv"'})


@bp.post("/verify")
@requires("audit")
def verify():
    result = audit.verify(db.session)
    if not result.ok:
        log.warning("audit chain broken at entry %s", result.first_bad_id)
    template = "audit/_verify.html" if is_htmx() else "audit/verify.html"
    return render_template(template, result=result, head=audit.head(db.session))


# ------------------------------------------------------------------ helpers


def diff_rows(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """(field, before, after) for each changed field; nested values shown as JSON text."""
    before, after = diff.get("before") or {}, diff.get("after") or {}
    return [{"field": key, "before": _shown(before, key), "after": _shown(after, key)}
            for key in sorted(before.keys() | after.keys())]


def _shown(values: dict[str, Any], key: str) -> str | None:
    if key not in values:
        return None
    value = values[key]
    return value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _object_linker() -> Callable[[AuditEntry], str | None]:
    """``link(entry)``: where the entry's object can be seen, when this app has such a page."""
    entity_types = set(StateManager.get_instance().workflows.all(db.session))

    def link(entry: AuditEntry) -> str | None:
        if not entry.object_id or not entry.object_id.isdigit():
            return None
        if entry.object_type == "user":
            return _url("users.show", user_id=int(entry.object_id))
        if entry.object_type in entity_types:
            return _url("entities.show", entity_id=int(entry.object_id))
        return None

    return link


def _bulk_operation(entry: AuditEntry) -> dict[str, Any] | None:
    if not entry.correlation_id:
        return None
    op = db.session.scalar(select(BulkOperation).where(
        BulkOperation.correlation_id == entry.correlation_id))
    if op is None:
        return None
    # Auditors may read about the operation here but not open the bulk pages (operate).
    return {"op": op, "url": _url("bulk.show", cid=op.correlation_id) if can("operate") else None}


def _url(endpoint: str, **values: Any) -> str | None:
    """``url_for`` when the endpoint exists in this app (pages of other areas may not)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _describe(filters: audit_queries.AuditFilters) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.as_query().items())

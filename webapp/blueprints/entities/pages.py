"""An entity's page and the panels it is made of (each also served alone for HTMX swaps)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import render_template, request

from webapp.blueprints.entities import bp, field_values, fields_form
from webapp.blueprints.entities.common import manager, workflows
from webapp.blueprints.entities.forms import EditForm, RenameForm
from webapp.blueprints.entities.lists import entity_address
from webapp.core.audit import queries as audit_queries
from webapp.core.base.errors import InvalidInput
from webapp.core.base.sealed import is_sealed
from webapp.core.changes import history
from webapp.core.lists import listing
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.models import AuditEntry, Entity, StatusChange
from webapp.permissions import can, requires
from webapp.web_context import current_actor, now

TIMELINE_PAGE = 20
#: Most activity notes shown between two changes of one timeline page.
ACTIVITY_PAGE_MAX = 200
CHILDREN_SHOWN = 5


def details_context(entity_id: int, form: RenameForm | None = None,
                    fields: fields_form.DataForm | None = None, **extra: Any) -> dict[str, Any]:
    """The details panel. A type with declared fields shows them one by one and edits them
    with their own inputs (``fields``); a type without any shows and edits JSON."""
    entity = manager().get(db.session, entity_id)
    wf = manager().workflow(db.session, entity.type)
    parent = db.session.get(Entity, entity.parent_id) if entity.parent_id else None
    context = {"entity": entity, "wf": wf, "parent": parent, "now": now(),
               "children": _children(entity), **extra}
    if not wf.fields:
        # Values sealed while the type still declared fields stay sealed: shown opened or
        # masked, and left out of the patch's starting text (a merge patch keeps them).
        unsealed = {k: v for k, v in (entity.data or {}).items() if not is_sealed(v)}
        form = form or EditForm(formdata=None, name=entity.name, version=entity.version,
                                data_json=json.dumps(unsealed, indent=2, sort_keys=True))
        return {**context, "form": form,
                "data": field_values.visible(wf.fields, entity.data, can("operate"))}
    data = field_values.plain(wf.fields, entity.data)
    if fields is None and can("operate"):
        fields = fields_form.build(wf.fields, values=data, titles=field_values.names().names(
            fields_form.referenced_ids(wf.fields, data)))
    return {**context, "form": form or RenameForm(formdata=None, name=entity.name,
                                                  version=entity.version),
            "fields": fields, "undeclared": field_values.undeclared(wf, data),
            "shown": field_values.shown(wf, entity.data or {}, can("operate"), entity_address())}


def _children(entity: Entity) -> list[dict[str, Any]]:
    found = []
    for type_, wf in workflows().items():
        if wf.parent_type == entity.type:
            rows, count = listing.children(db.session, entity.id, type_, CHILDREN_SHOWN)
            found.append({"type": type_, "label": wf.label, "rows": rows, "count": count,
                          "categories": {n: st.category for n, st in wf.states.items()}})
    return found


def actions_context(entity_id: int, **extra: Any) -> dict[str, Any]:
    """The status panel: every move from here, blocked ones with the reasons why."""
    entity = manager().get(db.session, entity_id)
    moves = manager().allowed_transitions(db.session, current_actor(), entity_id)
    return {"entity": entity, "wf": manager().workflow(db.session, entity.type), "moves": moves,
            "comment": "", **extra}


def timeline_context(entity_id: int, before: int | None = None) -> dict[str, Any]:
    """A page of the entity's history, newest first, with the activity noted in between.

    ``entries`` pairs each item with its kind: ``("change", StatusChange)`` or
    ``("activity", AuditEntry)``; ``changes`` stays the page of changes alone."""
    rows, next_id = history.page(db.session, entity_id, TIMELINE_PAGE, before)
    entity_type = manager().get(db.session, entity_id).type
    notes = _activity_notes(entity_type, entity_id, rows, before, next_id)
    entries = sorted([("change", c) for c in rows] + [("activity", a) for a in notes],
                     key=lambda item: _aware(item[1].created_at), reverse=True)
    return {"entity_id": entity_id, "entity_type": entity_type, "changes": rows,
            "entries": entries, "next_id": next_id}


def _activity_notes(entity_type: str, entity_id: int, rows: list[StatusChange],
                    before: int | None, next_id: int | None) -> list[AuditEntry]:
    """The activity recorded between this page's changes (read from the audit log, where
    ``record_activity`` writes it; history has a change only when the activity reactivated).

    The page covers the time from its oldest change (when older pages follow) up to the
    change its cursor points at, so each note shows on exactly one page. An activity that
    reactivated the entity is left out: its change already shows the note as its reason."""
    stmt = audit_queries.query(audit_queries.AuditFilters(
        event_type="entity.activity", object_type=entity_type, object_id=str(entity_id)))
    if before is not None:
        newest = db.session.get(StatusChange, before)
        if newest is not None:
            stmt = stmt.where(AuditEntry.created_at < newest.created_at)
    if next_id is not None and rows:
        stmt = stmt.where(AuditEntry.created_at >= rows[-1].created_at)
    shown = {c.correlation_id for c in rows}
    found = db.session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(ACTIVITY_PAGE_MAX))
    return [a for a in found if a.correlation_id not in shown]


def _aware(at: datetime) -> datetime:
    """Times read back from SQLite lose their zone; they were stored as UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@bp.app_template_global("field_title")
def field_title(entity_type: str, key: str) -> str | None:
    """The title of a declared field of the type (None: the key is not declared)."""
    return field_values.title(workflows().get(entity_type), key)


@bp.app_template_global("field_text")
def field_text(entity_type: str, key: str, value: Any) -> str:
    """A stored data value as the type's fields say to read it (history, as-of and revert
    pages); sensitive values are masked for roles that may not operate."""
    return field_values.in_words(workflows().get(entity_type), key, value, can("operate"))


@bp.get("/<int:entity_id>")
@requires("view")
def show(entity_id: int):
    context = {**details_context(entity_id), **actions_context(entity_id),
               **timeline_context(entity_id)}
    return render_template("entities/show.html", **context)


@bp.get("/<int:entity_id>/details")
@requires("view")
def details(entity_id: int):
    return render_template("entities/_details.html", **details_context(entity_id))


@bp.get("/<int:entity_id>/actions")
@requires("view")
def actions(entity_id: int):
    return render_template("entities/_actions.html", **actions_context(entity_id))


@bp.get("/<int:entity_id>/timeline")
@requires("view")
def timeline(entity_id: int):
    before = request.args.get("before", type=int)
    context = timeline_context(entity_id, before)
    # "Load more" asks for the next items only; a refresh (or no script) gets the whole panel.
    if before is not None and is_htmx():
        return render_template("entities/_timeline_items.html", **context)
    if is_htmx():
        return render_template("entities/_timeline.html", **context)
    return render_template("entities/timeline.html", entity=manager().get(db.session, entity_id),
                           **context)


@bp.get("/<int:entity_id>/as-of")
@requires("view")
def as_of(entity_id: int):
    entity = manager().get(db.session, entity_id)
    context: dict[str, Any] = {"entity": entity, "at_text": request.args.get("at", "")}
    try:
        at = parse_local_time(context["at_text"], "at")
        context["state"] = history.state_at(db.session, entity_id, at)
        context["at"] = at
    except InvalidInput as err:
        context["error"] = " ".join([err.message, *err.fields.values()])
    template = "entities/_as_of.html" if is_htmx() else "entities/as_of.html"
    return render_template(template, **context), 400 if "error" in context else 200


def parse_local_time(text: str, name: str) -> datetime:
    """A time from a datetime-local input (or ISO 8601); a time without a zone is UTC."""
    if not text.strip():
        raise InvalidInput("Choose a date and time.", {name: "Choose a date and time (UTC)."})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput("Not a time.", {name: "Use a date and time like 2025-03-01T09:30."}) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@bp.app_template_filter("json_text")
def json_text(value: Any, indent: int | None = None) -> str:
    """A value as JSON text for people (autoescaped like any text; never marked safe)."""
    return json.dumps(value, indent=indent, ensure_ascii=False, sort_keys=True, default=str)

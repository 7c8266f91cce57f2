"""Scheduled transitions on the entity page: make, list, cancel (CONTRACT §8); and what the
state's timer will do, or why it could not.

The panel (templates/entities/_schedules.html) posts through htmx and is answered with itself:
a refusal in place (400 / 404 / 409) with what was typed kept, a done one with a message.
Without script the same routes flash and redirect, or answer the whole page with the errors."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from webapp.blueprints.entities import bp
from webapp.blueprints.entities.common import manager
from webapp.blueprints.entities.pages import (
    actions_context,
    details_context,
    parse_local_time,
    timeline_context,
)
from webapp.core.base.errors import InvalidInput, NotFound, StatekeeperError
from webapp.core.base.words import label
from webapp.core.timing import schedules, timers
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.models import Entity, ScheduledTransition
from webapp.permissions import requires
from webapp.web_context import current_actor


@bp.app_template_global("entity_timing")
def entity_timing(entity: Entity) -> dict[str, Any]:
    """The panel's facts: the entity's schedules, its state's timer, refused timers."""
    wf = manager().workflow(db.session, entity.type)
    rows = schedules.for_entity(db.session, entity.id)
    return {"pending": [s for s in rows if s.status in ("pending", "running")],
            "past": [s for s in rows if s.status not in ("pending", "running")][:10],
            "timer": _timer(wf, entity), "refused": timers.refused_for(db.session, entity.id),
            "states": [] if _terminal(wf, entity) else [s for s in wf.states
                                                         if s != entity.status]}


def _terminal(wf: Any, entity: Entity) -> bool:
    state = wf.states.get(entity.status)
    return bool(state and state.terminal)


def _timer(wf: Any, entity: Entity) -> dict[str, Any] | None:
    state = wf.states.get(entity.status)
    t = state.timeout if state else None
    if t is None:
        return None
    due: Any = None
    if t.after_hours is not None:
        due = entity.status_changed_at + timedelta(hours=t.after_hours)
    else:
        due = (entity.data or {}).get(t.at_field)
    return {"action": label(t.action), "describe": t.describe(), "due": due,
            "field": label(t.at_field) if t.at_field else None}


@bp.get("/<int:entity_id>/schedules")
@requires("view")
def schedules_panel(entity_id: int):
    if not is_htmx():
        return redirect(url_for("entities.show", entity_id=entity_id, _anchor="schedules"))
    return _panel(entity_id)


@bp.post("/<int:entity_id>/schedules")
@requires("operate")
def schedule(entity_id: int):
    values = {k: (request.form.get(k) or "").strip() for k in ("to", "at", "reason")}
    try:
        at = parse_local_time(values["at"], "at")
        made = schedules.create(manager(), db.session, current_actor(), entity_id,
                                values["to"], at, values["reason"])
    except InvalidInput as err:
        db.session.rollback()
        return _refused(entity_id, err.status, values, schedule_errors=err.fields or {"form": err.message})
    message = f"Scheduled: {made.to_status} at {made.at:%Y-%m-%d %H:%M} UTC."
    return _done(entity_id, message)


@bp.post("/<int:entity_id>/schedules/<int:schedule_id>/cancel")
@requires("operate")
def cancel_schedule(entity_id: int, schedule_id: int):
    try:
        found = db.session.get(ScheduledTransition, schedule_id)
        if found is None or found.entity_id != entity_id:
            raise NotFound(f"No scheduled transition {schedule_id} for this entity.")
        cancelled = schedules.cancel(manager(), db.session, current_actor(), schedule_id)
    except StatekeeperError as err:
        db.session.rollback()
        return _refused(entity_id, err.status, {}, schedule_problem=err.message)
    return _done(entity_id, f"Cancelled the move to {cancelled.to_status} "
                            f"scheduled for {cancelled.at:%Y-%m-%d %H:%M} UTC.")


def _panel(entity_id: int, status: int = 200, **context: Any) -> Any:
    entity = manager().get(db.session, entity_id)
    wf = manager().workflow(db.session, entity.type)
    return render_template("entities/_schedules.html", entity=entity, wf=wf,
                           **context), status


def _done(entity_id: int, message: str) -> Any:
    if is_htmx():
        return _panel(entity_id, schedule_message=message)
    flash(message, "success")
    return redirect(url_for("entities.show", entity_id=entity_id, _anchor="schedules"))


def _refused(entity_id: int, status: int, values: dict[str, str], **context: Any) -> Any:
    context = {"schedule_values": values, **context}
    if is_htmx():
        return _panel(entity_id, status, **context)
    page = {**details_context(entity_id), **actions_context(entity_id),
            **timeline_context(entity_id), **context}
    return render_template("entities/show.html", **page), status

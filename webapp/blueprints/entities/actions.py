"""Changing an entity from its page: transitions, activity and edits, all with source ``manual``.

Each answers an HTMX request with the panel it came from (an error in place, with 409 / 422 /
400) and tells the page which other panels to refresh; without script it flashes and redirects.
"""
from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for

from webapp.blueprints.entities import bp, field_values, fields_form
from webapp.blueprints.entities.common import manager
from webapp.blueprints.entities.forms import EditForm, RenameForm
from webapp.blueprints.entities.pages import actions_context, details_context, timeline_context
from webapp.core.approvals import requests as approval_requests
from webapp.core.base.errors import (
    ConcurrencyConflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StatekeeperError,
)
from webapp.core.base.words import label, plural
from webapp.core.changes.manager import Outcome
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.htmx import is_htmx, trigger
from webapp.models import Approval
from webapp.permissions import requires
from webapp.web_context import current_actor, record_denial

#: Events the page's panels listen to (see show.html): each refreshes itself from the server.
DETAILS, ACTIONS, TIMELINE = "details-changed", "actions-changed", "timeline-changed"


@bp.post("/<int:entity_id>/transition")
@requires("operate")
def transition(entity_id: int):
    to = request.form.get("to", "")
    comment = request.form.get("comment", "").strip()
    try:
        outcome = approval_requests.transition_or_ask(
            manager(), db.session, current_actor(), entity_id, to, reason=comment or None,
            source="manual", version=_version(request.form.get("version")))
    except StatekeeperError as err:
        return _refused(entity_id, err, comment=comment, attempted=to)
    if isinstance(outcome, Approval):  # asked: nothing changes until someone approves
        return _changed(entity_id, f"Asked for approval (request #{outcome.id}); "
                                   f"nothing changes until it is approved.")
    return _changed(entity_id, _moved(outcome))


@bp.post("/<int:entity_id>/activity")
@requires("operate")
def activity(entity_id: int):
    note = (request.form.get("note") or "").strip()[:500] or None
    before = manager().get(db.session, entity_id).status
    outcome = manager().record_activity(db.session, current_actor(), entity_id, note)
    message = "Activity recorded."
    if outcome.entity.status != before:
        message += f" It was {before}, so it is {outcome.entity.status} again."
    return _changed(entity_id, message)


@bp.post("/<int:entity_id>/edit")
@requires("operate")
def edit(entity_id: int):
    wf = manager().workflow(db.session, manager().get(db.session, entity_id).type)
    if wf.fields:
        return _edit_fields(entity_id, wf)
    form = EditForm()
    if not form.validate():
        return _details(entity_id, form, 400)
    try:
        entity = manager().update_entity(db.session, current_actor(), entity_id,
                                         version=form.version.data, name=form.name.data,
                                         data=form.patch(), source="manual")
    except ConcurrencyConflict as err:
        db.session.rollback()
        # Keep what they typed, but against the current version: saving again is a retry.
        form.version.data, form.version.raw_data = err.current_version, None
        return _details(entity_id, form, 409, conflict=err)
    except InvalidInput as err:
        db.session.rollback()
        _attach(form, err)
        return _details(entity_id, form, 400)
    saved = entity.version != form.version.data
    return _saved(entity_id, "Saved." if saved else "Nothing changed: the values were the same.")


def _edit_fields(entity_id: int, wf: Workflow) -> Any:
    """Save the inputs of a type's declared fields: posted text, read as typed, checked by the
    core's validation, then applied as a patch of every declared field (empty ones removed)."""
    form, fields = RenameForm(), fields_form.build(wf.fields, request.form)
    if fields.change_rows(request.form):  # a list's "Add a row" or "Remove" without script
        return _fields_page(entity_id, form, fields, 200)
    before = field_values.plain(wf.fields, manager().get(db.session, entity_id).data)
    valid = form.validate()  # first: validating resets each input's messages
    values = fields.submit(field_values.names(), field_values.validator(
        wf, creating=False, before=before, entity_id=entity_id), before)
    if not valid or values is None:
        return _fields_page(entity_id, form, fields, 400)
    # Keys the type no longer declares go when ticked; the core refuses data that keeps them.
    dropped = set(request.form.getlist("drop")) & set(field_values.undeclared(wf, before))
    try:
        entity = manager().update_entity(db.session, current_actor(), entity_id,
                                         version=form.version.data, name=form.name.data,
                                         data={**values, **dict.fromkeys(dropped)},
                                         source="manual")
    except ConcurrencyConflict as err:
        db.session.rollback()
        form.version.data, form.version.raw_data = err.current_version, None
        return _fields_page(entity_id, form, fields, 409, conflict=err)
    except InvalidInput as err:
        db.session.rollback()
        messages = err.fields or {"data": err.message}
        form.name.errors = [*form.name.errors, *(m for k, m in messages.items() if k == "name")]
        fields.attach({k: m for k, m in messages.items() if k != "name"})
        return _fields_page(entity_id, form, fields, 400)
    saved = entity.version != form.version.data
    return _saved(entity_id, "Saved." if saved else "Nothing changed: the values were the same.")


def _fields_page(entity_id: int, form: RenameForm, fields: fields_form.DataForm, status: int,
                 **extra: Any) -> Any:
    """The details panel with what was typed and the messages about it; without script the
    whole page, so nothing typed is lost to a redirect."""
    context = details_context(entity_id, form, fields, editing=True,
                              dropping=set(request.form.getlist("drop")), **extra)
    if is_htmx():
        response = make_response(render_template("entities/_details.html", **context), status)
        return trigger(response, TIMELINE) if status == 409 else response
    page = {**actions_context(entity_id), **timeline_context(entity_id), **context}
    return make_response(render_template("entities/show.html", **page), status)


def _version(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInput("version must be a whole number.",
                           {"version": "Reload the page and try again."}) from exc


def _moved(outcome: Outcome) -> str:
    message = f"Moved to {outcome.entity.status}."
    if outcome.cascaded:
        message += f" {plural(len(outcome.cascaded), 'related entity')} changed with it."
    return message


def _changed(entity_id: int, message: str) -> Any:
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("entities.show", entity_id=entity_id))
    response = make_response(render_template(
        "entities/_actions.html", **actions_context(entity_id, message=message)))
    return trigger(trigger(response, DETAILS), TIMELINE)


def _refused(entity_id: int, err: StatekeeperError, **context: Any) -> Any:
    db.session.rollback()
    if isinstance(err, NotFound):
        raise err
    if isinstance(err, PermissionDenied):
        record_denial(f"{request.method} {request.path}: {err.message}")
    if not is_htmx():
        flash(_sentence(err), "error")
        return redirect(url_for("entities.show", entity_id=entity_id))
    page = actions_context(entity_id, error=err, **context)
    page.update(_problems(err, page["moves"], context["attempted"], context["comment"]))
    response = make_response(render_template("entities/_actions.html", **page), err.status)
    if isinstance(err, ConcurrencyConflict):  # show everyone's current values
        trigger(trigger(response, DETAILS), TIMELINE)
    return response


def _problems(err: StatekeeperError, moves: list[dict[str, Any]], attempted: str,
              comment: str) -> dict[str, Any]:
    """The refusal's sentences; a missing comment is shown at the comment box instead."""
    messages = [*err.extra.get("messages", [err.message]), *getattr(err, "fields", {}).values()]
    move = next((m for m in moves if m["to"] == attempted), None)
    missing = bool(move and move["comment_required"] and not comment)
    if missing:
        said = f"A comment is required to {label(move['action'])}."
        messages = [m for m in messages if m != said]
    return {"problems": messages, "comment_missing": missing, "attempted_move": move}


def _sentence(err: StatekeeperError) -> str:
    return " ".join([err.message, *getattr(err, "fields", {}).values()])


def _details(entity_id: int, form: EditForm, status: int, **extra: Any) -> Any:
    if not is_htmx():
        flash(" ".join(e for f in form for e in f.errors) or "Not saved.", "error")
        return redirect(url_for("entities.show", entity_id=entity_id))
    html = render_template("entities/_details.html", **details_context(entity_id, form, **extra))
    response = make_response(html, status)
    return trigger(response, TIMELINE) if status == 409 else response


def _saved(entity_id: int, message: str) -> Any:
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("entities.show", entity_id=entity_id))
    html = render_template("entities/_details.html", **details_context(entity_id, saved=message))
    return trigger(trigger(make_response(html), ACTIONS), TIMELINE)


def _attach(form: EditForm, err: InvalidInput) -> None:
    """Put the core's field errors next to the fields they are about."""
    for key, message in (err.fields or {"data": err.message}).items():
        target = form.name if key == "name" else form.data_json
        label = f"{key}: " if key.startswith("data.") else ""
        target.errors = [*target.errors, f"{label}{message}"]

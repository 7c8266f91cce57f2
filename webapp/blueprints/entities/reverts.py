"""Reverting from the entity page: a preview of the outcome first, then the confirmation.

Both happen in the page's revert panel through htmx: a refused confirmation comes back in place
(with 400 / 409 / 422), the form and what was typed kept; a done one says so there and asks the
page's panels to refresh. Without script the same routes answer whole pages."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for

from webapp.blueprints.entities import bp
from webapp.blueprints.entities.actions import ACTIONS, DETAILS, TIMELINE
from webapp.blueprints.entities.common import manager
from webapp.blueprints.entities.forms import RevertForm
from webapp.blueprints.entities.pages import parse_local_time
from webapp.core.base import words
from webapp.core.base.errors import ConcurrencyConflict, InvalidInput, InvalidTransition, NotFound
from webapp.core.changes.previews import preview_revert
from webapp.extensions import db
from webapp.htmx import is_htmx, trigger
from webapp.permissions import requires
from webapp.web_context import current_actor

#: What can make a revert impossible; each is shown on the preview, in words.
NOT_POSSIBLE = (InvalidInput, InvalidTransition, NotFound, ConcurrencyConflict)


@bp.get("/<int:entity_id>/revert")
@requires("revert")
def revert_preview(entity_id: int):
    form = RevertForm(formdata=None, change_id=request.args.get("change_id", type=int),
                      at=request.args.get("at", ""))
    return _preview(entity_id, form)


@bp.post("/<int:entity_id>/revert")
@requires("revert")
def revert(entity_id: int):
    form = RevertForm()
    if not form.validate():
        return _preview(entity_id, form, 400)
    try:
        outcome = manager().revert(db.session, current_actor(), entity_id,
                                   change_id=form.change_id.data, at=_at(form.at.data),
                                   reason=form.reason.data.strip(), force=form.force.data)
    except NOT_POSSIBLE as err:
        db.session.rollback()
        return _preview(entity_id, form, err.status, error=err)
    message = f"Reverted: {outcome.entity.name} is {words.label(outcome.entity.status)} now."
    if is_htmx():
        response = make_response(render_template("entities/_reverted.html", message=message))
        for panel in (DETAILS, ACTIONS, TIMELINE):
            trigger(response, panel)
        return response
    flash(message, "success")
    return redirect(url_for("entities.show", entity_id=entity_id))


def _at(text: str | None) -> datetime | None:
    return parse_local_time(text, "at") if text else None


def _preview(entity_id: int, form: RevertForm, status: int = 200, **context: Any) -> Any:
    context["entity"] = manager().get(db.session, entity_id)
    try:
        context["preview"] = preview_revert(manager(), db.session, current_actor(), entity_id,
                                            change_id=form.change_id.data, at=_at(form.at.data))
    except NOT_POSSIBLE as err:
        context["problem"] = err
        status = max(status, err.status)
    inline = is_htmx()  # in the entity page's panel: confirmed through htmx, answered there
    template = "entities/_revert_preview.html" if inline else "entities/revert.html"
    return render_template(template, form=form, inline=inline, **context), status


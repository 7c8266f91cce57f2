"""Approvals in the browser (CONTRACT §9): everyone who may view sees the requests; the roles
a request names approve (an optional comment) or reject it (a comment required), never the
person who asked. The core decides who may; these views translate."""
from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for

from webapp.blueprints.approvals import bp
from webapp.core.approvals import deciding, records, requests
from webapp.core.base import paging
from webapp.core.base.errors import InvalidInput, PermissionDenied, StatekeeperError
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import Approval, Entity
from webapp.permissions import requires
from webapp.web_context import current_actor, now, record_denial

PAGE = 25
#: The filters of the list, in the order they are offered ("" is every status).
FILTERS = ("pending", "approved", "rejected", "failed", "expired", "")


def _sm() -> StateManager:
    return StateManager.get_instance()


@bp.app_context_processor
def _entity_page_helpers() -> dict[str, Any]:
    """``pending_approval(entity_id)`` for the entity page's status panel."""
    return {"pending_approval": lambda entity_id: requests.pending_for(db.session, entity_id),
            "approval_awaiting": records.awaiting}


@bp.get("/")
@requires("view")
def index():
    raw = request.args.get("status", "pending")
    try:
        status = records.check_status(raw)
        rows, next_cursor = records.page(db.session, status, PAGE, request.args.get("cursor"))
    except InvalidInput as err:
        flash(err.message, "error")
        return redirect(url_for("approvals.index"))
    return render_template("approvals/index.html", items=[_card(a) for a in rows],
                           status=status or "", filters=FILTERS, next_cursor=next_cursor,
                           pending_count=_pending_count())


@bp.get("/<int:approval_id>")
@requires("view")
def show(approval_id: int):
    return _show_page(deciding.get(db.session, approval_id))


def _show_page(a: Approval, status: int = 200, **form: Any) -> Any:
    html = render_template("approvals/show.html", item=_card(a), **form)
    return make_response(html, status)


@bp.post("/<int:approval_id>/approve")
@requires("view")
def approve(approval_id: int):
    comment = request.form.get("comment", "")
    try:
        a = deciding.approve(_sm(), db.session, current_actor(), approval_id, comment)
    except StatekeeperError as err:
        return _refused(approval_id, err, "approve", comment)
    flash(f"Approved request #{a.id}: {_applied(a)}", "success")
    return redirect(url_for("approvals.show", approval_id=a.id), 303)


@bp.post("/<int:approval_id>/reject")
@requires("view")
def reject(approval_id: int):
    comment = request.form.get("comment", "")
    try:
        a = deciding.reject(_sm(), db.session, current_actor(), approval_id, comment)
    except StatekeeperError as err:
        return _refused(approval_id, err, "reject", comment)
    flash(f"Rejected request #{a.id}; nothing changed.", "success")
    return redirect(url_for("approvals.show", approval_id=a.id), 303)


def _refused(approval_id: int, err: StatekeeperError, decision: str, comment: str) -> Any:
    """The request's page again with why: the comment box's message, or the refusal."""
    db.session.rollback()
    if isinstance(err, PermissionDenied):
        record_denial(f"{request.method} {request.path}: {err.message}")
    a = deciding.get(db.session, approval_id)  # NotFound: the 404 page
    errors = getattr(err, "fields", {}) or {}
    return _show_page(a, err.status, decision=decision, comment=comment,
                      comment_error=errors.get("comment"),
                      problems=[] if errors.get("comment") else
                      err.extra.get("messages") or [err.message])


def _applied(a: Approval) -> str:
    changed = len((a.outcome or {}).get("changed", []))
    cascaded = len((a.outcome or {}).get("cascaded", []))
    text = f"{changed} {'entity' if changed == 1 else 'entities'} moved to {a.to_status}"
    return text + (f", {cascaded} related changed with {'it' if changed == 1 else 'them'}."
                   if cascaded else ".")


def _card(a: Approval) -> dict[str, Any]:
    """What a request's card shows: the request, its entity, and whether you may decide."""
    entity = db.session.get(Entity, a.entity_id) if a.entity_id else None
    actor = current_actor()
    return {"a": a, "entity": entity, "may_decide": a.status == "pending"
            and deciding.may_decide(actor, a), "own": a.requested_by == actor.name,
            "overdue": a.status == "pending" and a.expires_at <= now(),
            "awaiting": records.awaiting(a), "preview": a.preview or {}}


def _pending_count() -> int:
    rows, _ = records.page(db.session, "pending", paging.LIMIT_MAX, None)
    return len(rows)

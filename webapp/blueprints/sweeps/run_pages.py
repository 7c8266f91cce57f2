"""A past sweep run's page: what it warned, made inactive and reactivated (paged), and its
undo (a dry-run preview first, then the undo as one bulk operation)."""
from __future__ import annotations

import uuid

from flask import current_app, redirect, render_template, request, url_for

from webapp import htmx
from webapp.blueprints.sweeps import bp
from webapp.core.base.errors import InvalidInput
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk import operations as bulk
from webapp.core.bulk import plans as bulk_plans
from webapp.core.changes.manager import StateManager
from webapp.core.sweeps import run_detail
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import current_actor
from webapp.workers.bulk_runner import runner

TITLES = {"warn": "Warned", "inactivate": "Made inactive", "reactivate": "Reactivated"}


@bp.get("/runs/<int:run_id>")
@requires("view")
def show_run(run_id: int):
    found = run_detail.get(db.session, run_id)
    cid = run_detail.correlation_id(db.session, found)
    pages = {a: run_detail.items(db.session, found, cid, a) for a in run_detail.ACTIONS}
    return render_template("sweeps/run.html", run=found, cid=cid, pages=pages, titles=TITLES,
                           undoable=run_detail.undoable(found, cid))


@bp.get("/runs/<int:run_id>/items")
@requires("view")
def run_items(run_id: int):
    """The next page of one list (HTMX appends its rows; without HTMX, a page of its own)."""
    action = request.args.get("action")
    if action not in run_detail.ACTIONS:
        raise InvalidInput("Unknown list.", {"action": "warn, inactivate or reactivate"})
    cursor = request.args.get("cursor", "")
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 10:
        raise InvalidInput("cursor must be a whole number.", {"cursor": "a whole number"})
    found = run_detail.get(db.session, run_id)
    page = run_detail.items(db.session, found, run_detail.correlation_id(db.session, found),
                            action, int(cursor))
    template = "sweeps/_run_items.html" if htmx.is_htmx() else "sweeps/run_items.html"
    return render_template(template, run=found, action=action, page=page, titles=TITLES)


@bp.get("/runs/<int:run_id>/undo")
@requires("revert")
def undo_preview(run_id: int):
    found = run_detail.get(db.session, run_id)
    force = request.args.get("force") == "1"
    req = run_detail.undo_request(db.session, current_actor(), found, dry_run=True, force=force)
    result = bulk.run(db.session, StateManager.get_instance(), current_actor(), req, "")
    context = {"run": found, "result": result, "force": force,
               "large": len(req.ids) > current_app.config["BULK_JOB_THRESHOLD"],
               "no_way_back": bulk_plans.no_way_back(result.failure_details),
               "reasons": bulk_plans.reasons(result.failure_details)}
    template = "sweeps/_undo_preview.html" if htmx.is_htmx() else "sweeps/undo.html"
    return render_template(template, **context)


@bp.post("/runs/<int:run_id>/undo")
@requires("revert")
def undo(run_id: int):
    """Undo as one bulk operation (a background job when large); its page shows the result."""
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    req = run_detail.undo_request(db.session, current_actor(), run_detail.get(db.session, run_id),
                                  dry_run=False, comment=comment,
                                  force=request.form.get("force") == "1")
    cid, sm = str(uuid.uuid4()), StateManager.get_instance()
    if len(req.ids) > current_app.config["BULK_JOB_THRESHOLD"]:
        bulk_jobs.queue(db.session, sm, current_actor(), req, cid)
        runner().submit(cid)
    else:
        bulk.run(db.session, sm, current_actor(), req, cid)
    return redirect(url_for("bulk.show", cid=cid), 303)

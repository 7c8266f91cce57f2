"""Bulk pages: selection -> action -> dry-run preview -> run (or background job) -> result -> undo."""
from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, request, url_for

from webapp import htmx
from webapp.blueprints.bulk import bp
from webapp.blueprints.bulk.forms import ACTIONS, Selection, parse_action, parse_selection
from webapp.core.approvals import requests as approval_requests
from webapp.core.base.errors import InvalidInput, StatekeeperError
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk import operations as bulk
from webapp.core.bulk import plans as bulk_plans
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import current_actor, now
from webapp.workers.bulk_runner import runner

#: Failures listed on a result page (the counts cover the rest).
FAILURES_SHOWN = 500


def _sm() -> StateManager:
    return StateManager.get_instance()


def _threshold() -> int:
    return current_app.config["BULK_JOB_THRESHOLD"]


@bp.get("/")
@requires("operate")
def index():
    # Side-effect free: abandoned jobs are resumed by the workers' bulk-jobs task, not here.
    operations = bulk_jobs.recent(db.session)
    return render_template("bulk/index.html", operations=operations,
                           states=bulk_jobs.shown_states(db.session, operations, now()))


@bp.get("/new")
@requires("operate")
def new():
    if not request.args:
        return render_template("bulk/new.html", selection=None, types=_sm().workflows.all(db.session))
    selection = parse_selection(request.args)
    return render_template("bulk/new.html", **_form_context(selection))


def _form_context(selection: Selection, **extra: Any) -> dict[str, Any]:
    ids = selection.resolve(db.session, _sm().vocabulary, now())
    workflows = _sm().workflows.all(db.session)
    types = [workflows[t] for t in bulk_plans.types_of(db.session, ids) if t in workflows]
    return {"selection": selection, "count": len(ids), "workflows": types,
            "large": len(ids) > _threshold(), "actions": ACTIONS, "form": request.form,
            "chunk": current_app.config["BULK_JOB_CHUNK"], **extra}


@bp.post("/preview")
@requires("operate")
def preview():
    selection = parse_selection(request.form)
    context = _form_context(selection)
    try:
        req = parse_action(request.form, selection.resolve(db.session, _sm().vocabulary, now()),
                           context["large"])
    except InvalidInput as err:
        return _preview_page(context, errors=err.fields or {"action": err.message})
    watermark = bulk.last_change_id(db.session)
    try:  # the type limits among them: refused here, so Run is never offered for it
        result = bulk.run(db.session, _sm(), current_actor(), _dry(req), "")
    except InvalidInput as err:
        return _preview_page(context, errors=_errors(err))
    approvers = (approval_requests.bulk_roles(_sm(), db.session, list(req.ids), req.target_state)
                 if req.operation == "transition" else ())
    return _preview_page(context, result=result, req=req, since=watermark,
                         reasons=bulk_plans.reasons(result.failure_details),
                         limits=_limits(context["workflows"]), approvers=approvers)


def _limits(workflows: list[Any]) -> list[dict[str, Any]]:
    """The bulk limits of the selected types (the preview states them beside its totals)."""
    settings = _sm().settings.all(db.session)
    return [{"type": wf.entity_type, "cap": settings[wf.bulk_limit], "setting": wf.bulk_limit}
            for wf in workflows if wf.bulk_limit in settings]


def _errors(err: InvalidInput) -> dict[str, str]:
    """A refusal as the form's errors; a refused selection says why in full (a type's limit
    names the count, the cap and its setting)."""
    if "ids" in err.fields:
        return {**err.fields, "ids": err.message}
    return err.fields or {"action": err.message}


def _dry(req: BulkRequest) -> BulkRequest:
    return replace(req, dry_run=True)


def _preview_page(context: dict[str, Any], **preview: Any):
    status = 400 if preview.get("errors") and not htmx.is_htmx() else 200
    template = "bulk/_preview.html" if htmx.is_htmx() else "bulk/new.html"
    return render_template(template, **context, **preview), status


@bp.post("/run")
@requires("operate")
def run():
    selection = parse_selection(request.form)
    ids = selection.resolve(db.session, _sm().vocabulary, now())
    large = len(ids) > _threshold()
    try:
        req = parse_action(request.form, ids, large)
        asked = _ask_if_needed(req)
        cid = None if asked else _start(req, large)
    except InvalidInput as err:  # the form again, with why, rather than a bare error page
        return _preview_page(_form_context(selection), errors=_errors(err))
    except StatekeeperError as err:  # a pending request, or nothing that could move
        return _preview_page(_form_context(selection), errors={"action": " ".join(
            err.extra.get("messages") or [err.message])})
    if asked:
        flash(f"This move needs approval: one request was made for all {len(ids):,} "
              f"entities; nothing changes until it is approved.", "success")
        return redirect(url_for("approvals.show", approval_id=asked), 303)
    return redirect(url_for("bulk.show", cid=cid), 303)


def _ask_if_needed(req: BulkRequest) -> int | None:
    """A transition whose move needs approval asks once for all its items (CONTRACT §9):
    the request's id; None when it needs none."""
    if req.operation != "transition" or not approval_requests.bulk_roles(
            _sm(), db.session, req.ids, req.target_state or ""):
        return None
    bulk.check_ids(list(req.ids))  # one request names at most as many as the API takes
    return approval_requests.ask_bulk(_sm(), db.session, current_actor(), req).id


def _start(req: BulkRequest, large: bool) -> str:
    """Run now, or queue a background job for a large selection; the operation's id. Both
    apply the types' bulk limits (InvalidInput)."""
    cid = str(uuid.uuid4())
    if large:
        bulk_jobs.queue(db.session, _sm(), current_actor(), req, cid)
        runner().submit(cid)
    else:
        bulk.run(db.session, _sm(), current_actor(), req, cid)
    return cid


@bp.get("/<cid>")
@requires("operate")
def show(cid: str):
    op = bulk_jobs.get(db.session, cid)
    return render_template("bulk/show.html", **_show_context(op))


def _show_context(op: Any) -> dict[str, Any]:
    stored = op.result or {}
    failures = {int(k): v for k, v in list(stored.get("failure_details", {}).items())}
    return {"op": op, "running": op.state in ("queued", "running"),
            "shown": bulk_jobs.shown_state(db.session, op, now()),
            "result": bulk_jobs.result_of(op), "rows": stored.get("rows", []),
            "failures": list(failures.items())[:FAILURES_SHOWN],
            "reasons": bulk_plans.reasons(failures), "error": stored.get("error"),
            "undoable": op.operation_type != "undo" and op.successful_items > 0
            and op.state == "done"}


@bp.get("/<cid>/progress")
@requires("operate")
def progress(cid: str):
    op = bulk_jobs.get(db.session, cid)
    if op.state in ("queued", "running"):
        return render_template("bulk/_progress.html", op=op,
                               shown=bulk_jobs.shown_state(db.session, op, now()))
    if not htmx.is_htmx():
        return redirect(url_for("bulk.show", cid=cid))
    return htmx.redirect(make_response("", 200), url_for("bulk.show", cid=cid))


@bp.get("/<cid>/undo")
@requires("revert")
def undo_preview(cid: str):
    op = bulk_jobs.get(db.session, cid)
    force = request.args.get("force") == "1"
    req = bulk_jobs.undo_request(db.session, current_actor(), cid, dry_run=True, force=force)
    result = bulk.run(db.session, _sm(), current_actor(), req, "")
    context = {"op": op, "result": result, "large": len(req.ids) > _threshold(), "force": force,
               "no_way_back": bulk_plans.no_way_back(result.failure_details),
               "reasons": bulk_plans.reasons(result.failure_details)}
    template = "bulk/_undo_preview.html" if htmx.is_htmx() else "bulk/undo.html"
    return render_template(template, **context)


@bp.post("/<cid>/undo")
@requires("revert")
def undo(cid: str):
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    req = bulk_jobs.undo_request(db.session, current_actor(), cid, dry_run=False, comment=comment,
                                 force=request.form.get("force") == "1")
    return redirect(url_for("bulk.show", cid=_start(req, len(req.ids) > _threshold())), 303)

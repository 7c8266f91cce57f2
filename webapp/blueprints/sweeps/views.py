"""Sweep pages: everyone may look and forecast; operators may run a sweep (after a preview)."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, make_response, redirect, render_template, request, url_for

from webapp.blueprints.sweeps import bp
from webapp.core.base import lease
from webapp.core.base.errors import InvalidInput
from webapp.core.changes.manager import StateManager
from webapp.core.sweeps import runs as sweep_runs
from webapp.core.sweeps.sweep import policies, sweep
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.htmx import redirect as htmx_redirect
from webapp.permissions import requires
from webapp.web_context import current_actor, now

PAGE = 20
FORECAST_DAYS = (7, 30)
#: Items a preview or forecast lists on the page (the counts are complete).
SHOWN = 50


def _sm() -> StateManager:
    return StateManager.get_instance()


@bp.get("/")
@requires("view")
def index():
    before = _whole(request.args.get("before"), "before")
    runs = sweep_runs.recent_runs(db.session, before, PAGE + 1)
    context = {"runs": runs[:PAGE], "older": runs[PAGE - 1].id if len(runs) > PAGE else None}
    if is_htmx():
        return render_template("sweeps/_runs.html", **context)
    return render_template("sweeps/index.html", **context, **_status(), days=FORECAST_DAYS)


def _status() -> dict:
    sm, at = _sm(), now()
    last = sweep_runs.last_run(db.session)
    settings = sm.settings.all(db.session)
    return {"running": lease.current(db.session, sweep_runs.LEASE, at), "last": last,
            "next_due": sweep_runs.next_due(db.session, sm, last), "now": at,
            "interval": settings["sweep_interval_minutes"],
            "policies": policies(sm.workflows.all(db.session), settings)}


@bp.get("/preview")
@requires("view")  # a dry run changes nothing: every role may see it, as in the API
def preview():
    """A dry run at this moment: what "run now" would do, with the button to do it."""
    report = sweep(db.session, _sm(), now(), dry_run=True)
    template = "sweeps/_preview.html" if is_htmx() else "sweeps/preview.html"
    return render_template(template, report=report, shown=SHOWN)


@bp.post("/run")
@requires("operate")
def run():
    try:
        report = sweep_runs.run(db.session, _sm(), now, actor=current_actor())
    except sweep_runs.SweepBusy as busy:
        flash(busy.message, "error")
    else:
        flash(f"Sweep finished: {report.summary()}.", "warning" if report.refused else "success")
    target = url_for("sweeps.index")
    return htmx_redirect(make_response("", 204), target) if is_htmx() else redirect(target)


@bp.get("/forecast")
@requires("view")
def forecast():
    """What a sweep N days from now would do if nothing had activity until then."""
    days = _whole(request.args.get("days"), "days")
    days = FORECAST_DAYS[0] if days is None else days
    if not 1 <= days <= 365:
        raise InvalidInput("Forecast between 1 and 365 days ahead.", {"days": "1 to 365"})
    report = sweep(db.session, _sm(), now() + timedelta(days=days), dry_run=True)
    template = "sweeps/_forecast.html" if is_htmx() else "sweeps/forecast.html"
    return render_template(template, report=report, days=days, shown=SHOWN)


def _whole(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10:  # not "²", not 10**20
        raise InvalidInput(f"{name} must be a whole number.", {name: "a whole number"})
    return int(value)

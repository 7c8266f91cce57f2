"""The landing page: what is where, what changed, what is at risk, and whether events flow."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

from webapp.blueprints.dashboard import chart
from webapp.core.changes.manager import StateManager
from webapp.core.lists import overview
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import now

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@requires("view")
def index():
    sm = StateManager.get_instance()
    workflows = sm.workflows.all(db.session)
    counts = overview.status_counts(db.session)
    risk, risk_at = overview.at_risk(db.session, workflows, sm.settings.all(db.session), now())
    latest, real = overview.last_sweeps(db.session)
    return render_template(
        "dashboard/index.html", charts=chart.build(counts, workflows), risk_at=risk_at,
        empty=not counts, risk=risk, risk_cap=overview.RISK_CAP, ttl=overview.TTL_SECONDS,
        recent=overview.recent_changes(db.session), latest_sweep=latest, real_sweep=real,
        health=overview.delivery_health(db.session), chart_size=chart, now=now(),
        sweeps_url=_url_if_built("sweeps.index"), events_url=_url_if_built("events.index"))


def _url_if_built(endpoint: str) -> str | None:
    """Link to another area's page once that page exists."""
    return url_for(endpoint) if endpoint in current_app.view_functions else None

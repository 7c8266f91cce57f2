"""Settings over time: schedule a change for later, cancel it, and compare two times."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for

from webapp.blueprints.settings import bp
from webapp.blueprints.settings.forms import settings_form, submitted_values
from webapp.blueprints.settings.views import check_form, index_page, registry, store
from webapp.core.base import bounds
from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.settings import configuration, scheduling
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import current_actor, now

#: The datetime-local format the form's inputs send and show (minutes, UTC).
LOCAL = "%Y-%m-%dT%H:%M"


@bp.post("/schedule")
@requires("configure")
def schedule():
    """The form's changes (what differs from the values in force) taken at a later time."""
    form = settings_form(registry(), store().all(db.session), request.form)
    if not check_form(form):
        return index_page(form), 400
    current = store().all(db.session)
    proposed = {k: v for k, v in submitted_values(form, registry()).items() if current.get(k) != v}
    try:
        if not proposed:
            raise InvalidInput("Nothing to schedule.", {"effective_at": (
                "Change a setting in the form first, then choose when it takes effect.")})
        if not (request.form.get("effective_at") or "").strip():
            raise InvalidInput("When?", {"effective_at": (
                "Choose the date and time (UTC) the change takes effect.")})
        at = bounds.parse_time(request.form.get("effective_at"), "effective_at")
        row = scheduling.schedule(db.session, store(), current_actor(), proposed, at, now())
    except InvalidInput as err:
        return index_page(form, schedule_error=err.fields.get("effective_at") or err.message), 400
    flash(f"Scheduled for {row.effective_at:%Y-%m-%d %H:%M} UTC: "
          f"{scheduling.describe_values(row.values)}. Nothing changes until then.", "success")
    return redirect(url_for("settings.index"), 303)


@bp.post("/scheduled/<int:scheduled_id>/cancel")
@requires("configure")
def cancel(scheduled_id: int):
    try:
        row = scheduling.cancel(db.session, current_actor(), scheduled_id, now())
    except (NotFound, scheduling.NotPending) as err:
        flash(err.message, "error")
    else:
        flash(f"Cancelled: {scheduling.describe_values(row.values)} will not be applied.",
              "success")
    return redirect(url_for("settings.index"), 303)


@bp.get("/diff")
@requires("view")
def diff():
    """Every setting at two times, side by side, the changed ones marked."""
    end = _when("to") or now()
    start = _when("from") or end - timedelta(days=7)
    error, rows = None, []
    try:
        rows = configuration.diff(db.session, store(), start, end)
    except InvalidInput as err:
        error = " ".join(err.fields.values()) or err.message
    return render_template("settings/diff.html", rows=rows, error=error,
                           start=start.strftime(LOCAL), end=end.strftime(LOCAL),
                           changed=sum(r["changed"] for r in rows)), 400 if error else 200


def _when(name: str) -> datetime | None:
    value = request.args.get(name)
    return bounds.parse_time(value, name) if value else None

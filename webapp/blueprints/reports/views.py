"""The reports pages: pick a type, read its time in state, throughput and stuck entities as
charts and tables, download each as CSV."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response, render_template, request, stream_with_context

from webapp.blueprints.reports import bp, charts
from webapp.core.base import csvfile
from webapp.core.base.errors import InvalidInput
from webapp.core.changes.manager import StateManager
from webapp.core.reports import queries
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import now


def _workflows() -> dict[str, Any]:
    return StateManager.get_instance().workflows.all(db.session)


@bp.get("/")
@requires("view")
def index():
    workflows, args, errors = _workflows(), request.args, {}
    context: dict[str, Any] = {"workflows": workflows, "values": args, "errors": errors,
                               "hours_text": charts.hours_text, "now": now()}
    if args.get("type") in (None, ""):
        return render_template("reports/index.html", **context)
    try:
        wf = queries.workflow_of(workflows, args.get("type"))
        since, until = queries.window(args.get("since"), args.get("until"))
        n_days = queries.days(args.get("days"))
    except InvalidInput as err:
        errors.update(err.fields)
        return render_template("reports/index.html", **context), 400
    times = queries.time_in_state(db.session, wf, since, until)
    days = queries.throughput(db.session, wf, n_days, now().date())
    labels = {name: st.label for name, st in wf.states.items()}
    context.update(wf=wf, times=times, time_chart=charts.time_chart(times), days=days,
                   n_days=n_days, stack=charts.stack_chart(days, labels), labels=labels,
                   stuck=queries.stuck(db.session, wf, now(),
                                       times=times if since is None and until is None else None))
    return render_template("reports/index.html", **context)


@bp.get("/time-in-state.csv")
@requires("view")
def time_in_state_csv():
    wf = queries.workflow_of(_workflows(), request.args.get("type"))
    since, until = queries.window(request.args.get("since"), request.args.get("until"))
    rows = queries.time_in_state(db.session, wf, since, until)
    header = ["state", "entries", "stays_ended", "p50_hours", "p90_hours", "max_hours",
              "current", "oldest_current_id"]
    return _csv(f"{wf.entity_type}-time-in-state.csv", header, (
        [r.state, r.entries, r.stays, r.p50_hours, r.p90_hours, r.max_hours, r.current,
         r.oldest.id if r.oldest else None] for r in rows))


@bp.get("/throughput.csv")
@requires("view")
def throughput_csv():
    wf = queries.workflow_of(_workflows(), request.args.get("type"))
    days = queries.throughput(db.session, wf, queries.days(request.args.get("days")),
                              now().date())
    states = list(wf.states)
    return _csv(f"{wf.entity_type}-throughput.csv", ["date", *states],
                ([d["date"], *(d[s] for s in states)] for d in days))


@bp.get("/stuck.csv")
@requires("view")
def stuck_csv():
    wf = queries.workflow_of(_workflows(), request.args.get("type"))
    return _csv(f"{wf.entity_type}-stuck.csv",
                ["id", "name", "state", "in_state_since", "hours_in_state", "p90_hours"],
                ([s.id, s.name, s.state, s.since, s.hours, s.p90_hours]
                 for s in queries.stuck(db.session, wf, now())))


def _csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    lines = csvfile.lines([header, *rows])
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})

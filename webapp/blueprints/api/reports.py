"""Reports (CONTRACT §8): time in state, throughput, and the entities stuck longest."""
from __future__ import annotations

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import manager
from webapp.core.reports import queries
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import now


def _workflow():
    return queries.workflow_of(manager().workflows.all(db.session), request.args.get("type"))


@bp.get("/v1/reports/time-in-state")
@requires("view")
def time_in_state():
    wf = _workflow()
    since, until = queries.window(request.args.get("since"), request.args.get("until"))
    rows = queries.time_in_state(db.session, wf, since, until)
    return jsonify({"items": [row.to_dict() for row in rows]})


@bp.get("/v1/reports/throughput")
@requires("view")
def throughput():
    wf = _workflow()
    n_days = queries.days(request.args.get("days"))
    return jsonify({"days": queries.throughput(db.session, wf, n_days, now().date())})


@bp.get("/v1/reports/stuck")
@requires("view")
def stuck():
    wf = _workflow()
    return jsonify({"items": [
        {"id": s.id, "name": s.name, "state": s.state, "since": s.since.isoformat(),
         "hours": s.hours, "p90_hours": s.p90_hours}
        for s in queries.stuck(db.session, wf, now())]})


def _openapi() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, ok, query

    type_ = {**query("type", {"type": "string", "minLength": 1}, "an entity type",
                     required=True), "example": "ticket"}
    day = {"type": "string", "description": queries.DATE_HINT}
    hours = {"type": ["number", "null"]}
    count = {"type": "integer", "minimum": 0}
    item = {"type": "object", "required": ["state", "entries", "p50_hours", "p90_hours",
                                           "max_hours", "current", "oldest_current_id"],
            "properties": {"state": {"type": "string"}, "entries": count, "p50_hours": hours,
                           "p90_hours": hours, "max_hours": hours, "current": count,
                           "oldest_current_id": {"type": ["integer", "null"]}}}
    return {
        "/reports/time-in-state": {"get": {
            "summary": "Per state of a type: entries, p50/p90/max hours of the stays that "
                       "ended in the days asked for (within 1 %), entities there now and the "
                       "one there longest",
            "parameters": [type_, query("since", day, "first UTC day counted"),
                           query("until", day, "last UTC day counted")],
            "responses": {"200": ok({"type": "object", "required": ["items"], "properties": {
                "items": {"type": "array", "items": item}}}), **ERRORS}}},
        "/reports/throughput": {"get": {
            "summary": "Entries into each state per UTC day over the last `days` days",
            "parameters": [type_, query("days", {"type": "integer", "minimum": 1,
                                                 "maximum": queries.DAYS_MAX,
                                                 "default": queries.DAYS_DEFAULT})],
            "responses": {"200": ok({"type": "object", "required": ["days"], "properties": {
                "days": {"type": "array", "items": {
                    "type": "object", "required": ["date"],
                    "properties": {"date": {"type": "string", "format": "date"}},
                    "additionalProperties": count}}}}), **ERRORS}}},
        "/reports/stuck": {"get": {
            "summary": "Entities in a non-terminal state for longer than its p90, longest "
                       f"first (at most {queries.STUCK_LIMIT})",
            "parameters": [type_],
            "responses": {"200": ok({"type": "object", "required": ["items"], "properties": {
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"},
                    "state": {"type": "string"}, "since": {"type": "string"},
                    "hours": {"type": "number"}, "p90_hours": {"type": "number"}}}}}}),
                **ERRORS}}},
    }


OPENAPI_PATHS = _openapi()

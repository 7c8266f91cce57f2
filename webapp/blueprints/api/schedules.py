"""Scheduled transitions (CONTRACT §8): create, list, cancel.

Making and cancelling them is for the roles that change statuses (CONTRACT §4, "schedule
transitions"); the core checks every input and answers 400 naming each bad field."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, body, manager
from webapp.core.timing import schedules
from webapp.extensions import db
from webapp.models.timing import SCHEDULE_STATUSES
from webapp.permissions import requires


@bp.post("/v1/entities/<int:entity_id>/schedules")
@requires("operate")
def create_schedule(entity_id: int):
    data = body({"to", "at", "reason"})
    s = schedules.create(manager(), db.session, actor(), entity_id, data.get("to"),
                         data.get("at"), data.get("reason"))
    return jsonify(schedules.to_dict(s)), 201


@bp.get("/v1/entities/<int:entity_id>/schedules")
@requires("view")
def list_schedules(entity_id: int):
    manager().get(db.session, entity_id)  # 404 for an unknown entity
    return jsonify({"items": [schedules.to_dict(s)
                              for s in schedules.for_entity(db.session, entity_id)]})


@bp.delete("/v1/schedules/<int:schedule_id>")
@requires("operate")
def cancel_schedule(schedule_id: int):
    s = schedules.cancel(manager(), db.session, actor(), schedule_id)
    return jsonify(schedules.to_dict(s))


# --------------------------------------------------------------------------- OpenAPI

SCHEDULE = {
    "type": "object", "required": ["id", "entity_id", "to", "at", "reason", "status", "actor"],
    "properties": {
        "id": {"type": "integer"}, "entity_id": {"type": "integer"}, "to": {"type": "string"},
        "at": {"type": "string", "format": "date-time"}, "reason": {"type": "string"},
        "status": {"type": "string", "enum": list(SCHEDULE_STATUSES)},
        "actor": {"type": "string", "description": "Its author: it runs as them."},
        "created_at": {"type": "string"}, "finished_at": {"type": ["string", "null"]},
        "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "Why a failed one was refused."},
        "approval_id": {"type": ["integer", "null"],
                        "description": "The request it made, when the move needs approval."}},
}
OPENAPI_SCHEMAS = {"ScheduledTransition": SCHEDULE}


def _openapi_paths() -> dict[str, Any]:
    from webapp.blueprints.api.openapi import ERRORS, ID, PATH_ID, json_body, ok, ref

    missing = {"404": {"description": "No such entity."}}
    return {
        "/entities/{entity_id}/schedules": {
            "parameters": [PATH_ID],
            "post": {
                "summary": "Schedule a transition: run when due as its author, with the same "
                           "checks (history source timer)", "tags": ["schedules"],
                "requestBody": json_body({
                    "type": "object", "required": ["to", "at", "reason"],
                    "additionalProperties": False, "properties": {
                        "to": {"type": "string", "description": "A state of the type."},
                        "at": {"type": "string", "format": "date-time",
                               "description": f"In the future, at most "
                                             f"{schedules.HORIZON.days} days ahead."},
                        "reason": {"type": "string", "minLength": 1,
                                   "maxLength": schedules.REASON_MAX}}}),
                "responses": {"201": ok(ref("ScheduledTransition"), "Scheduled (pending)."),
                              **ERRORS, **missing}},
            "get": {"summary": "The entity's scheduled transitions, pending ones first",
                    "tags": ["schedules"],
                    "responses": {"200": ok({"type": "object", "properties": {
                        "items": {"type": "array", "items": ref("ScheduledTransition")}}}),
                        **ERRORS, **missing}}},
        "/schedules/{schedule_id}": {
            "parameters": [{"name": "schedule_id", "in": "path", "required": True,
                            "schema": dict(ID)}],
            "delete": {"summary": "Cancel a pending scheduled transition", "tags": ["schedules"],
                       "responses": {"200": ok(ref("ScheduledTransition"), "Cancelled."),
                                     **ERRORS, "404": {"description": "No such schedule."},
                                     "409": {"description": "It already ran, failed or was "
                                                          "cancelled."}}}},
    }


OPENAPI_PATHS = _openapi_paths()

"""Configuration routes of the JSON API (CONTRACT.md §6, §10): read and change settings, now
or at a later time, put one change back, and compare two times."""
from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, body, manager, optional_text, parse_time
from webapp.core.base.errors import InvalidInput
from webapp.core.settings import configuration, scheduling
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import now

#: How far back a diff looks when no ``from`` is given.
DIFF_DEFAULT = timedelta(days=7)


@bp.get("/v1/config")
@requires("view")
def get_config():
    return jsonify(configuration.describe(db.session, manager().settings))


@bp.patch("/v1/config")
@requires("configure")
def patch_config():
    """Change settings now, or, with ``effective_at``, schedule the change (202)."""
    values = request.get_json(silent=True)
    if values is None:
        raise InvalidInput("The body is not valid JSON.", {"body": "Send a JSON object."})
    values = configuration.check_body(values)
    if "effective_at" in values:
        settings = {k: v for k, v in values.items() if k not in ("effective_at", "comment")}
        row = scheduling.schedule(db.session, manager().settings, actor(), settings,
                                  parse_time(values["effective_at"], "effective_at"), now(),
                                  optional_text(values.get("comment"), "comment"))
        return jsonify(scheduling.to_dict(row)), 202
    configuration.update(db.session, manager().settings, actor(), values, now())
    return jsonify(configuration.describe(db.session, manager().settings))


@bp.get("/v1/config/history")
@requires("view")
def config_history():
    rows = configuration.history(db.session, request.args.get("key") or None)
    return jsonify({"items": [configuration.history_item(r) for r in rows]})


@bp.get("/v1/config/scheduled")
@requires("view")
def config_scheduled():
    status = request.args.get("status") or "pending"
    rows = scheduling.listed(db.session, None if status == "all" else status)
    return jsonify({"items": [scheduling.to_dict(r) for r in rows]})


@bp.delete("/v1/config/scheduled/<int:scheduled_id>")
@requires("configure")
def cancel_scheduled(scheduled_id: int):
    return jsonify(scheduling.to_dict(scheduling.cancel(db.session, actor(), scheduled_id, now())))


@bp.post("/v1/config/revert")
@requires("configure")
def revert_config():
    data = body({"history_id"})
    changed = configuration.revert(db.session, manager().settings, actor(), data.get("history_id"),
                                   now())
    newest = configuration.history(db.session, limit=1) if changed else []
    return jsonify({"changed": bool(changed),
                    "items": [configuration.history_item(r) for r in newest],
                    "settings": configuration.describe(db.session, manager().settings)})


@bp.get("/v1/config/diff")
@requires("view")
def config_diff():
    end = _time_arg("to") or now()
    start = _time_arg("from") or end - DIFF_DEFAULT
    items = configuration.diff(db.session, manager().settings, start, end)
    return jsonify({"from": start.isoformat(), "to": end.isoformat(), "items": items})


def _time_arg(name: str):
    value = request.args.get(name)
    return parse_time(value, name) if value else None


def _openapi_paths() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok, query

    setting = {"type": "object", "properties": {
        "value": {}, "default": {}, "description": {"type": "string"}}}
    all_settings = {"type": "object", "additionalProperties": setting}
    time = {"type": "string", "format": "date-time"}
    nullable = {"type": ["string", "null"]}
    scheduled = {"type": "object", "required": ["id", "values", "effective_at", "status", "actor"],
                 "properties": {
                     "id": {"type": "integer"}, "values": {"type": "object"},
                     "effective_at": time, "actor": {"type": "string"},
                     "status": {"type": "string", "enum": ["pending", "applied", "failed",
                                                           "cancelled"]},
                     "comment": nullable, "created_at": time, "finished_at": nullable,
                     "cancelled_by": nullable, "error": nullable}}
    history_item = {"type": "object", "properties": {
        "id": {"type": "integer"}, "key": {"type": "string"}, "old": {}, "new": {},
        "actor": {"type": "string"}, "created_at": {"type": "string"}}}
    conflict = {"409": {"description": "Already applied, failed or cancelled."},
                "404": {"description": "No such scheduled change."}}
    return {
        "/config": {
            "get": {"summary": "All runtime settings", "responses": {"200": ok(all_settings), **ERRORS}},
            "patch": {"summary": "Change settings (validated together; 400 with per-key errors)",
                      "description": "With effective_at (a future time, at most 366 days "
                                     "ahead) the change is validated now and scheduled: 202 "
                                     "with the scheduled change; the workers apply it then, "
                                     "validating it again.",
                      "requestBody": json_body({"type": "object", "minProperties": 1,
                                                "properties": {"effective_at": time,
                                                               "comment": {"type": "string"}},
                                                "additionalProperties": True}),
                      "responses": {"200": ok(all_settings), "202": ok(scheduled, "Scheduled"),
                                    **ERRORS}}},
        "/config/history": {
            "get": {"summary": "Setting changes, newest first",
                    "parameters": [query("key", {"type": "string"}, "Only this setting.")],
                    "responses": {"200": ok({
                        "type": "object", "properties": {"items": {
                            "type": "array", "items": history_item}}}), **ERRORS}}},
        "/config/scheduled": {
            "get": {"summary": "Scheduled setting changes, in the order they take effect",
                    "parameters": [query("status", {"type": "string", "enum": [
                        "pending", "applied", "failed", "cancelled", "all"]},
                        "Default pending.")],
                    "responses": {"200": ok({"type": "object", "properties": {
                        "items": {"type": "array", "items": scheduled}}}), **ERRORS}}},
        "/config/scheduled/{scheduled_id}": {
            "parameters": [{"name": "scheduled_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "delete": {"summary": "Cancel a pending scheduled change",
                       "responses": {"200": ok(scheduled), **ERRORS, **conflict}}},
        "/config/revert": {
            "post": {"summary": "Put back the value a history entry replaced (a new change)",
                     "requestBody": json_body({"type": "object", "required": ["history_id"],
                                               "additionalProperties": False, "properties": {
                                                   "history_id": {"type": "integer"}}}),
                     "responses": {"200": ok({"type": "object", "properties": {
                         "changed": {"type": "boolean"},
                         "items": {"type": "array", "items": history_item},
                         "settings": all_settings}}), **ERRORS,
                         "404": {"description": "No such history entry."},
                         "422": {"description": "That value is no longer allowed (why in "
                                                "message)."}}}},
        "/config/diff": {
            "get": {"summary": "Every setting at two times, changed ones marked",
                    "parameters": [query("from", time, "Default: 7 days before to."),
                                   query("to", time, "Default: now.")],
                    "responses": {"200": ok({"type": "object", "properties": {
                        "from": time, "to": time, "items": {"type": "array", "items": {
                            "type": "object", "properties": {
                                "key": {"type": "string"}, "label": {"type": "string"},
                                "from": {}, "to": {}, "changed": {"type": "boolean"}}}}}}),
                        **ERRORS}}},
    }


OPENAPI_PATHS = _openapi_paths()

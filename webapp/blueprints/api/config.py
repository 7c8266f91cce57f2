"""Configuration routes of the JSON API (CONTRACT.md §6)."""
from __future__ import annotations

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, manager
from webapp.core.base.errors import InvalidInput
from webapp.core.settings import configuration
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import now


@bp.get("/v1/config")
@requires("view")
def get_config():
    return jsonify(configuration.describe(db.session, manager().settings))


@bp.patch("/v1/config")
@requires("configure")
def patch_config():
    values = request.get_json(silent=True)
    if values is None:
        raise InvalidInput("The body is not valid JSON.", {"body": "Send a JSON object."})
    configuration.update(db.session, manager().settings, actor(), values, now())
    return jsonify(configuration.describe(db.session, manager().settings))


@bp.get("/v1/config/history")
@requires("view")
def config_history():
    rows = configuration.history(db.session, request.args.get("key") or None)
    return jsonify({"items": [configuration.history_item(r) for r in rows]})


def _openapi_paths() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok

    setting = {"type": "object", "properties": {
        "value": {}, "default": {}, "description": {"type": "string"}}}
    all_settings = {"type": "object", "additionalProperties": setting}
    return {
        "/config": {
            "get": {"summary": "All runtime settings", "responses": {"200": ok(all_settings), **ERRORS}},
            "patch": {"summary": "Change settings (validated together; 400 with per-key errors)",
                      "requestBody": json_body({"type": "object", "minProperties": 1,
                                                "additionalProperties": True}),
                      "responses": {"200": ok(all_settings), **ERRORS}}},
        "/config/history": {
            "get": {"summary": "Setting changes, newest first", "responses": {"200": ok({
                "type": "object", "properties": {"items": {"type": "array", "items": {
                    "type": "object", "properties": {
                        "key": {"type": "string"}, "old": {}, "new": {},
                        "actor": {"type": "string"}, "created_at": {"type": "string"}}}}}}),
                **ERRORS}}},
    }


OPENAPI_PATHS = _openapi_paths()

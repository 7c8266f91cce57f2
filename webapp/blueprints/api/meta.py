"""API self-description: who is calling, and the schema workflow files are checked against."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from webapp.blueprints.api import bp
from webapp.core.workflows import schema
from webapp.permissions import requires


@bp.get("/v1/me")
@requires("view")
def me():
    """Who the token or session belongs to (handy for checking a token)."""
    return jsonify({"username": current_user.username, "role": current_user.role})


@bp.get("/v1/schemas/workflow.json")
@requires("view")
def workflow_schema():
    """The JSON Schema of a workflow file (CONTRACT §7): what import, packs and the editor
    check against, generated from the same models."""
    return jsonify({"$id": request.base_url, **schema.json_schema()})


def _openapi_paths() -> dict[str, Any]:
    from webapp.blueprints.api.openapi import ERRORS, ok

    json_schema = {"type": "object", "description": "A JSON Schema (draft 2020-12).",
                   "required": ["$schema", "$id", "title", "properties"]}
    return {"/schemas/workflow.json": {"get": {
        "summary": "The JSON Schema of a workflow file (states, transitions, rules, cascades, "
                   "fields, settings); an unknown key anywhere is refused",
        "responses": {"200": ok(json_schema), **ERRORS}}}}


OPENAPI_PATHS = _openapi_paths()

"""Saved views through the API (CONTRACT §11): GET /views, POST /views, DELETE /views/<id>."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import body, manager
from webapp.core.base.transactions import write_transaction
from webapp.core.lists import saved_views
from webapp.extensions import db
from webapp.permissions import can, requires
from webapp.web_context import now


@bp.get("/v1/views")
@requires("view")
def list_views():
    known = manager().workflows.all(db.session)
    items = []
    for view in saved_views.visible(db.session, current_user.id):
        items.append({**saved_views.to_dict(view),
                      "problem": saved_views.problem(view, known, now())})
    return jsonify({"items": items})


@bp.post("/v1/views")
@requires("view")
def create_view():
    data = body({"name", "type", "query", "shared", "pinned", "columns"})
    with write_transaction(db.session):
        view = saved_views.create(
            db.session, current_user.id, manager().workflows.all(db.session),
            name=data.get("name"), entity_type=data.get("type"), query=data.get("query", {}),
            shared=data.get("shared", False), pinned=data.get("pinned", False),
            columns=data.get("columns"), now=now())
        answer = saved_views.to_dict(view)
    return jsonify(answer), 201


@bp.delete("/v1/views/<int:view_id>")
@requires("view")
def delete_view(view_id: int):
    with write_transaction(db.session):
        saved_views.remove(db.session, current_user.id, view_id,
                           may_manage_shared=can("manage_users"))
    return "", 204


def _openapi_paths() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok

    view = {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "type": {"type": "string"},
        "query": {"type": "object", "additionalProperties": {"type": "string"}},
        "columns": {"type": ["array", "null"], "items": {"type": "string"}},
        "shared": {"type": "boolean"}, "pinned": {"type": "boolean"},
        "owner_id": {"type": "integer"}, "created_at": {"type": "string"},
        "problem": {"type": ["string", "null"]}}}
    return {
        "/views": {
            "get": {"summary": "Your saved views and the shared ones",
                    "responses": {"200": ok({"type": "object", "properties": {
                        "items": {"type": "array", "items": view}}}), **ERRORS}},
            "post": {"summary": "Save a list filter as a view", "requestBody": json_body({
                "type": "object", "required": ["name", "type"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                               "type": {"type": "string"},
                               "query": {"type": "object",
                                         "additionalProperties": {"type": "string"}},
                               "shared": {"type": "boolean"}, "pinned": {"type": "boolean"},
                               "columns": {"type": "array", "items": {"type": "string"}}}}),
                "responses": {"201": ok(view, "Created"), **ERRORS}}},
        "/views/{view_id}": {
            "parameters": [{"name": "view_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "delete": {"summary": "Delete a view (its owner; an admin for a shared one)",
                       "responses": {"204": {"description": "Deleted."}, **ERRORS,
                                     "404": {"description": "No such view."}}}},
    }


OPENAPI_PATHS = _openapi_paths()

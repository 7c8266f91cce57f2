"""Workflow versions, diffs, drafts and publishing (CONTRACT §10)."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, body, manager
from webapp.core.publishing import drafts, publish, versions
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import now


@bp.get("/v1/workflows/<entity_type>/versions")
@requires("view")
def workflow_versions(entity_type: str):
    return jsonify({"items": [versions.summary(v)
                              for v in versions.listing(db.session, entity_type)]})


@bp.get("/v1/workflows/<entity_type>/versions/<number>")
@requires("view")
def workflow_version(entity_type: str, number: str):
    return jsonify(versions.document(versions.get(db.session, entity_type, number)))


@bp.get("/v1/workflows/<entity_type>/diff")
@requires("view")
def workflow_diff(entity_type: str):
    first, second = request.args.get("from"), request.args.get("to")
    diff = versions.compare(db.session, entity_type, first, second)
    return jsonify({"from": versions.version_number(first, "from"),
                    "to": versions.version_number(second, "to"), **diff.to_dict()})


@bp.get("/v1/workflows/<entity_type>/draft")
@requires("view")
def workflow_draft(entity_type: str):
    return jsonify(drafts.to_dict(drafts.get(db.session, entity_type)))


@bp.put("/v1/workflows/<entity_type>/draft")
@requires("edit_workflows")
def put_workflow_draft(entity_type: str):
    draft = drafts.put(db.session, entity_type, body(), actor(), now())
    return jsonify(drafts.to_dict(draft))


@bp.delete("/v1/workflows/<entity_type>/draft")
@requires("edit_workflows")
def delete_workflow_draft(entity_type: str):
    drafts.discard(db.session, entity_type)
    return "", 204


@bp.post("/v1/workflows/<entity_type>/draft/check")
@requires("edit_workflows")
def check_workflow_draft(entity_type: str):
    body(set())
    draft = drafts.get(db.session, entity_type)
    sm = manager()
    found = drafts.check(db.session, sm.workflows, entity_type, draft.definition,
                         sm.settings.all(db.session), sm.clock())
    in_force = versions.in_force(db.session, entity_type).version
    return jsonify(found.to_dict() | {"base_version": draft.base_version,
                                      "version_in_force": in_force})


@bp.post("/v1/workflows/<entity_type>/draft/publish")
@requires("edit_workflows")
def publish_workflow_draft(entity_type: str):
    data = body({"state_mapping", "comment"})
    draft = drafts.get(db.session, entity_type)
    done = publish.publish(db.session, manager(), actor(), entity_type, draft.definition,
                           data.get("state_mapping"), data.get("comment"), discard_draft=True)
    return jsonify(done.to_dict())


@bp.post("/v1/workflows/<entity_type>/versions/<number>/publish")
@requires("edit_workflows")
def publish_workflow_version(entity_type: str, number: str):
    """The rollback: an earlier version's definition published again, with the same checks."""
    data = body({"state_mapping", "comment"})
    done = publish.rollback(db.session, manager(), actor(), entity_type, number,
                            data.get("state_mapping"), data.get("comment"))
    return jsonify(done.to_dict())


def _openapi_paths() -> dict[str, Any]:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok, query

    type_param = {"name": "entity_type", "in": "path", "required": True,
                  "schema": {"type": "string"}}
    number = {"name": "number", "in": "path", "required": True,
              "schema": {"type": "integer", "minimum": 1}}
    summary = {"type": "object", "properties": {
        "version": {"type": "integer"}, "actor": {"type": "string"},
        "comment": {"type": "string"}, "created_at": {"type": "string"},
        "correlation_id": {"type": ["string", "null"],
                           "description": "The moves of stranded entities (bulk undo takes it)."}}}
    changes = {"type": "object", "properties": {c: {"type": "array", "items": {"type": "object"}}
                                                for c in ("added", "removed", "changed")}}
    mapping = {"type": "object", "additionalProperties": {"type": "string"},
               "description": "Removed state -> state of the new workflow."}
    publish_body = json_body({"type": "object", "additionalProperties": False, "properties": {
        "state_mapping": mapping, "comment": {"type": "string", "maxLength": 2000}}})
    published = ok({"type": "object", "properties": {
        "version": {"type": "integer"}, "state_mapping": mapping,
        "moved": {"type": "object", "additionalProperties": {"type": "integer"}},
        "moved_total": {"type": "integer"}, "correlation_id": {"type": ["string", "null"]}}})
    refused = {"422": {"description": "Entities would be left in removed states (`stranded`)."}}
    draft = {"type": "object", "properties": {
        "entity_type": {"type": "string"}, "base_version": {"type": "integer"},
        "definition": {"type": "object"}, "updated_by": {"type": "string"},
        "updated_at": {"type": "string"}}}
    return {
        "/workflows/{entity_type}/versions": {"parameters": [type_param], "get": {
            "summary": "A workflow's versions, newest first", "tags": ["workflows"],
            "responses": {"200": ok({"type": "object", "properties": {
                "items": {"type": "array", "items": summary}}}), **ERRORS}}},
        "/workflows/{entity_type}/versions/{number}": {"parameters": [type_param, number], "get": {
            "summary": "One version, as `workflows export` writes it, with its metadata",
            "tags": ["workflows"], "responses": {"200": ok({"type": "object"}), **ERRORS}}},
        "/workflows/{entity_type}/versions/{number}/publish": {
            "parameters": [type_param, number], "post": {
                "summary": "Roll back: publish an earlier version again (same checks as a draft)",
                "tags": ["workflows"], "requestBody": publish_body,
                "responses": {"200": published, **ERRORS, **refused}}},
        "/workflows/{entity_type}/diff": {"parameters": [type_param], "get": {
            "summary": "What version `to` changed against version `from`", "tags": ["workflows"],
            "parameters": [query("from", {"type": "integer", "minimum": 1}, required=True),
                           query("to", {"type": "integer", "minimum": 1}, required=True)],
            "responses": {"200": ok({"type": "object", "properties": {
                **{k: changes for k in ("states", "transitions", "rules", "slas", "fields",
                                        "cascades", "workflow")},
                "sentences": {"type": "array", "items": {"type": "string"}}}}), **ERRORS}}},
        "/workflows/{entity_type}/draft": {"parameters": [type_param],
            "get": {"summary": "The type's draft", "tags": ["workflows"],
                    "responses": {"200": ok(draft), **ERRORS}},
            "put": {"summary": "Store a whole definition as the type's draft",
                    "tags": ["workflows"], "requestBody": json_body({"type": "object"}),
                    "responses": {"200": ok(draft), **ERRORS}},
            "delete": {"summary": "Discard the draft", "tags": ["workflows"],
                       "responses": {"204": {"description": "Discarded."}, **ERRORS}}},
        "/workflows/{entity_type}/draft/check": {"parameters": [type_param], "post": {
            "summary": "The draft's problems and what it would do to the entities now",
            "tags": ["workflows"], "responses": {"200": ok({"type": "object", "properties": {
                "problems": {"type": "array", "items": {"type": "string"}},
                "stranded": {"type": "object", "additionalProperties": {"type": "integer"}},
                "newly_blocked": {"type": "object",
                                  "additionalProperties": {"type": "integer"}}}}), **ERRORS}}},
        "/workflows/{entity_type}/draft/publish": {"parameters": [type_param], "post": {
            "summary": "Publish the draft as the next version, moving stranded entities",
            "tags": ["workflows"], "requestBody": publish_body,
            "responses": {"200": published, **ERRORS, **refused}}},
    }


OPENAPI_PATHS = _openapi_paths()

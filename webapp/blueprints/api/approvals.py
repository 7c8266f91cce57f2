"""Approval routes of the JSON API (CONTRACT §9): the requests, and deciding them.

Anyone who may view lists them; deciding is refined in the core: only the roles a request
names, never its requester (403 ``self_approval``), each refusal audited as a denial."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, body, manager
from webapp.core.approvals import deciding
from webapp.core.approvals import records as approval_records
from webapp.core.base import paging
from webapp.extensions import db
from webapp.models.approval import APPROVAL_STATUSES
from webapp.permissions import requires


@bp.get("/v1/approvals")
@requires("view")
def list_approvals():
    rows, next_cursor = approval_records.page(
        db.session, approval_records.check_status(request.args.get("status")),
        paging.check_limit(request.args.get("limit")), request.args.get("cursor"))
    return jsonify({"items": [approval_records.to_dict(a) for a in rows],
                    "next_cursor": next_cursor})


@bp.get("/v1/approvals/<int:approval_id>")
@requires("view")
def get_approval(approval_id: int):
    a = deciding.get(db.session, approval_id)
    return jsonify({**approval_records.to_dict(a), "preview": a.preview})


# Deciding declares "view": the roles a request names decide (CONTRACT §4, "as the
# transition names"), which the core checks against the request itself.
@bp.post("/v1/approvals/<int:approval_id>/approve")
@requires("view")
def approve(approval_id: int):
    data = body({"comment"})
    a = deciding.approve(manager(), db.session, actor(), approval_id, data.get("comment"))
    return jsonify(approval_records.to_dict(a))


@bp.post("/v1/approvals/<int:approval_id>/reject")
@requires("view")
def reject(approval_id: int):
    data = body({"comment"})
    a = deciding.reject(manager(), db.session, actor(), approval_id, data.get("comment"))
    return jsonify(approval_records.to_dict(a))


# --------------------------------------------------------------------------- OpenAPI

APPROVAL = {
    "type": "object",
    "required": ["id", "kind", "to", "reason", "requested_by", "status", "decided_by",
                 "decision_comment", "created_at", "decided_at", "expires_at"],
    "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["entity", "bulk"]},
        "entity_id": {"type": "integer", "description": "kind entity"},
        "ids": {"type": "array", "items": {"type": "integer"}, "description": "kind bulk"},
        "to": {"type": "string"}, "reason": {"type": ["string", "null"]},
        "requested_by": {"type": "string"},
        "status": {"type": "string", "enum": list(APPROVAL_STATUSES)},
        "decided_by": {"type": ["string", "null"]},
        "decision_comment": {"type": ["string", "null"]},
        "created_at": {"type": "string"}, "decided_at": {"type": ["string", "null"]},
        "expires_at": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"},
                  "description": "The roles that may decide."},
        "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "Why a failed request could not be applied."}},
}
OPENAPI_SCHEMAS = {"Approval": APPROVAL}


def _openapi_paths() -> dict[str, Any]:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok, query, ref

    path_id = {"name": "approval_id", "in": "path", "required": True,
               "schema": {"type": "integer"}}
    decided = {**ERRORS, "404": {"description": "No such request."},
               "409": {"description": "Already decided or expired (approval_closed)."}}
    comment = {"type": "string", "maxLength": 2000}
    return {
        "/approvals": {"get": {
            "summary": "Approval requests, newest first", "tags": ["approvals"],
            "parameters": [query("status", {"type": "string", "enum": list(APPROVAL_STATUSES)}),
                           query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                           query("cursor", {"type": "string"})],
            "responses": {"200": ok({"type": "object", "properties": {
                "items": {"type": "array", "items": ref("Approval")},
                "next_cursor": {"type": ["string", "null"]}}}), **ERRORS}}},
        "/approvals/{approval_id}": {"parameters": [path_id], "get": {
            "summary": "One request, with what would happen (preview)", "tags": ["approvals"],
            "responses": {"200": ok(ref("Approval")), **decided}}},
        "/approvals/{approval_id}/approve": {"parameters": [path_id], "post": {
            "summary": "Approve: the move is planned again now and applied (source approval)",
            "tags": ["approvals"],
            "requestBody": json_body({"type": "object", "additionalProperties": False,
                                      "properties": {"comment": comment}}),
            "responses": {"200": ok(ref("Approval")), **decided, "422": {
                "description": "No longer allowed: the request ends failed with the reasons."}}}},
        "/approvals/{approval_id}/reject": {"parameters": [path_id], "post": {
            "summary": "Reject, saying why", "tags": ["approvals"],
            "requestBody": json_body({"type": "object", "required": ["comment"],
                                      "additionalProperties": False,
                                      "properties": {"comment": {**comment, "minLength": 1}}}),
            "responses": {"200": ok(ref("Approval")), **decided}}},
    }


OPENAPI_PATHS = _openapi_paths()

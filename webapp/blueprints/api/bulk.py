"""Bulk routes of the JSON API (CONTRACT.md §6): transition, assign, update, undo."""
from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, body, manager, optional_text
from webapp.core.approvals import records as approval_records
from webapp.core.approvals import requests as approval_requests
from webapp.core.base.errors import InvalidInput
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.extensions import db
from webapp.permissions import requires


@bp.post("/v1/bulk/transition")
@requires("operate")
def bulk_transition():
    data = body({"ids", "target_state", "comments", "dry_run", "rollback_on_error"})
    req = bulk.check_request(BulkRequest("transition", bulk.check_ids(data.get("ids")),
                                         target_state=data.get("target_state"), **_common(data)))
    if not req.dry_run and approval_requests.bulk_roles(manager(), db.session, req.ids,
                                                        req.target_state or ""):
        approval = approval_requests.ask_bulk(manager(), db.session, actor(), req)
        return jsonify({"approval": approval_records.to_dict(approval)}), 202
    return _run(req)


@bp.post("/v1/bulk/assign")
@requires("operate")
def bulk_assign():
    data = body({"ids", "assignee", "comments", "dry_run", "rollback_on_error"})
    return _run(BulkRequest("assign", bulk.check_ids(data.get("ids")),
                            assignee=data.get("assignee"), **_common(data)))


@bp.post("/v1/bulk/update")
@requires("operate")
def bulk_update():
    data = body({"ids", "update_data", "comments", "dry_run", "rollback_on_error"})
    ids = bulk.check_ids(data.get("ids"))
    return _run(BulkRequest("update", ids, update_data=bulk.check_update_data(data.get("update_data")),
                            **_common(data)))


@bp.post("/v1/bulk/<correlation_id>/undo")
@requires("revert")
def bulk_undo(correlation_id: str):
    data = body({"dry_run", "comments", "force"})
    req = bulk_jobs.undo_request(db.session, actor(), correlation_id, _flag(data, "dry_run", False),
                                 optional_text(data.get("comments"), "comments"),
                                 _flag(data, "force", False))
    return jsonify(bulk.run(db.session, manager(), actor(), req, str(uuid.uuid4())).to_dict())


def _common(data: dict[str, Any]) -> dict[str, Any]:
    return {"comment": optional_text(data.get("comments"), "comments"),
            "dry_run": _flag(data, "dry_run", False),
            "rollback_on_error": _flag(data, "rollback_on_error", True)}


def _flag(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false.", {name: "Send a boolean."})
    return value


def _run(req: BulkRequest):
    result = bulk.run(db.session, manager(), actor(), req, str(uuid.uuid4()))  # limits checked there
    return jsonify(result.to_dict())


# --------------------------------------------------------------------------- OpenAPI

BULK_RESULT = {
    "type": "object",
    "required": ["operation_type", "total_items", "successful_items", "failed_items",
                 "success_rate", "successful_ids", "failed_ids", "failure_details", "warnings",
                 "was_rolled_back", "dry_run", "audit_correlation_id"],
    "properties": {
        "operation_type": {"type": "string", "enum": list(bulk.OPERATIONS)},
        "total_items": {"type": "integer"}, "successful_items": {"type": "integer"},
        "failed_items": {"type": "integer"},
        "success_rate": {"type": "number", "minimum": 0, "maximum": 100,
                         "description": "Percent of the items changed (or, in a dry run, that "
                                        "would be)."},
        "successful_ids": {"type": "array", "items": {"type": "integer"}},
        "failed_ids": {"type": "array", "items": {"type": "integer"}},
        "failure_details": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "Entity id -> why it failed."},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "was_rolled_back": {"type": "boolean",
                            "description": "All or nothing: an item failed, nothing was written."},
        "dry_run": {"type": "boolean"},
        "audit_correlation_id": {"type": ["string", "null"],
                                 "description": "Correlation id of the history and audit rows "
                                                "(null for a dry run); undo takes it."}},
}
OPENAPI_SCHEMAS = {"BulkResult": BULK_RESULT}


def _openapi_paths() -> dict[str, Any]:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok, ref

    ids = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": bulk.ID_LIMIT,
           "uniqueItems": True}
    common = {"comments": {"type": "string", "maxLength": 2000},
              "dry_run": {"type": "boolean", "default": False},
              "rollback_on_error": {"type": "boolean", "default": True,
                                    "description": "true: all or nothing; false: the valid items "
                                                   "are written, each failure is reported."}}

    def route(summary: str, required: list[str], props: dict[str, Any]) -> dict[str, Any]:
        return {"post": {"summary": summary, "tags": ["bulk"], "requestBody": json_body({
            "type": "object", "required": ["ids", *required], "additionalProperties": False,
            "properties": {"ids": ids, **props, **common}}),
            "responses": {"200": ok(ref("BulkResult")), **ERRORS}}}

    undo = {"post": {
        "summary": "Undo a bulk operation (entities changed since are reported, not overwritten)",
        "tags": ["bulk"], "parameters": [{"name": "correlation_id", "in": "path", "required": True,
                                          "schema": {"type": "string"}}],
        "requestBody": json_body({"type": "object", "additionalProperties": False, "properties": {
            "dry_run": {"type": "boolean", "default": False},
            "comments": {"type": "string", "maxLength": 2000},
            "force": {"type": "boolean", "default": False,
                      "description": "Admins: undo even where the workflow has no way back."}}}),
        "responses": {"200": ok(ref("BulkResult")), **ERRORS,
                      "404": {"description": "No bulk operation with that correlation id."}}}}
    return {
        "/bulk/transition": _asking(route("Move many entities to one state (202 and one "
                                          "approval request when the move needs approval)",
                                          ["target_state"], {"target_state": {"type": "string"}})),
        "/bulk/assign": route("Set data.assignee of many entities", ["assignee"],
                              {"assignee": {"type": "string", "maxLength": 200}}),
        "/bulk/update": route("Merge-patch the data of many entities (RFC 7396)", ["update_data"],
                              {"update_data": {"type": "object", "minProperties": 1,
                                               "description": "id, type, status, version and "
                                                              "created_* are refused."}}),
        "/bulk/{correlation_id}/undo": undo,
    }


def _asking(path: dict[str, Any]) -> dict[str, Any]:
    from webapp.blueprints.api.openapi import ok, ref

    path["post"]["responses"]["202"] = ok({"type": "object", "properties": {
        "approval": ref("Approval")}}, "The move needs approval: one request for all the items.")
    return path


OPENAPI_PATHS = _openapi_paths()

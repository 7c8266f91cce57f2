"""API routes for audit (CONTRACT.md §6): read the log, verify its hash chain."""
from __future__ import annotations

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.core.audit import chain as audit
from webapp.core.audit import queries as audit_queries
from webapp.extensions import db
from webapp.permissions import requires


@bp.get("/v1/audit")
@requires("audit")
def list_audit():
    filters = audit_queries.filters_from(request.args)
    page = audit_queries.page(db.session, filters, request.args.get("limit"),
                              request.args.get("cursor"))
    return jsonify({"items": [audit_queries.to_dict(e) for e in page.items],
                    "next_cursor": page.next_cursor})


@bp.get("/v1/audit/verify")
@requires("audit")
def verify_audit():
    result = audit.verify(db.session)
    return jsonify({"ok": result.ok, "checked": result.checked,
                    "first_bad_id": result.first_bad_id})


def _openapi_paths() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, ok, query, ref

    text = {"type": "string", "maxLength": audit_queries.FILTER_MAX}
    when = {"type": "string", "format": "date-time"}
    return {
        "/audit": {"get": {
            "summary": "The audit log, newest first (keyset pages); filters match exactly",
            "parameters": [
                query("actor", text, "who did it (username, or the name tried at sign-in)"),
                query("event_type", text, "e.g. entity.transition, permission.denied"),
                query("object_type", text), query("object_id", text),
                query("correlation_id", text, "every entry of one command or bulk operation"),
                query("since", when, "on or after this time"),
                query("until", when, "on or before this time"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                query("cursor", {"type": "string"}, "next_cursor of the previous page")],
            "responses": {"200": ok({"type": "object", "required": ["items", "next_cursor"],
                                     "properties": {
                                         "items": {"type": "array", "items": ref("AuditEntry")},
                                         "next_cursor": {"type": ["string", "null"]}}}),
                          **ERRORS}}},
        "/audit/verify": {"get": {
            "summary": "Check the hash chain from the latest archive checkpoint",
            "responses": {"200": ok(ref("AuditVerification")), **ERRORS}}},
    }


_NULLABLE = {"type": ["string", "null"]}
OPENAPI_SCHEMAS = {
    "AuditEntry": {"type": "object", "properties": {
        "id": {"type": "integer"}, "created_at": {"type": "string"}, "actor": {"type": "string"},
        "ip": _NULLABLE, "user_agent": _NULLABLE, "event_type": {"type": "string"},
        "object_type": _NULLABLE, "object_id": _NULLABLE, "correlation_id": _NULLABLE,
        "diff": {"type": "object", "description": "redacted before/after of what changed"},
        "message": _NULLABLE, "risk": {"type": "string", "enum": ["low", "medium", "high"]},
        "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
    "AuditVerification": {"type": "object", "required": ["ok", "checked", "first_bad_id"],
                          "properties": {"ok": {"type": "boolean"},
                                         "checked": {"type": "integer"},
                                         "first_bad_id": {"type": ["integer", "null"]}}},
}
OPENAPI_PATHS = _openapi_paths()

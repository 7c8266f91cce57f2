"""Search across every type (CONTRACT §11): ``GET /api/v1/search?q=&limit=``."""
from __future__ import annotations

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import manager
from webapp.core.lists import finding
from webapp.extensions import db
from webapp.permissions import requires


@bp.get("/v1/search")
@requires("view")
def search_everything():
    q, limit = finding.check(request.args.get("q", ""), request.args.get("limit"))
    hits = finding.find(db.session, manager().vocabulary, q, limit)
    return jsonify({"items": [h.to_dict() for h in hits]})


def _openapi_paths() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, ok, query

    hit = {"type": "object", "required": ["id", "type", "name", "status", "score"], "properties": {
        "id": {"type": "integer"}, "type": {"type": "string"}, "name": {"type": "string"},
        "status": {"type": "string"}, "score": {"type": "number"}}}
    return {"/search": {"get": {
        "summary": "Search names across every type: best match first, then recent activity",
        "parameters": [query("q", {"type": "string", "maxLength": finding.QUERY_MAX}),
                       query("limit", {"type": "integer", "minimum": 1,
                                       "maximum": finding.LIMIT_MAX})],
        "responses": {"200": ok({"type": "object", "properties": {
            "items": {"type": "array", "items": hit}}}), **ERRORS}}}}


OPENAPI_PATHS = _openapi_paths()

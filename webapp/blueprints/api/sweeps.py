"""API routes for sweeps (CONTRACT.md §6): run one, dry-run one, or forecast one."""
from __future__ import annotations

from flask import jsonify

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, body, manager
from webapp.core.base import bounds
from webapp.core.base.errors import InvalidInput
from webapp.core.sweeps import runs as sweep_runs
from webapp.core.sweeps.sweep import sweep
from webapp.extensions import db
from webapp.permissions import can, deny, requires
from webapp.web_context import now


@bp.post("/v1/sweeps/run")
@requires("view")
def run_sweep():
    """A dry run (or forecast, with as_of) for anyone; a real run for operators only."""
    data = body({"dry_run", "as_of"})
    dry_run = data.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run must be true or false.", {"dry_run": "Send true or false."})
    as_of = bounds.parse_time(data["as_of"], "as_of") if data.get("as_of") is not None else None
    if as_of is not None and not dry_run:
        raise InvalidInput("as_of is for forecasts: send it with dry_run true.",
                           {"as_of": "Only with dry_run: true."})
    if dry_run:
        report = sweep(db.session, manager(), as_of or now(), dry_run=True)
    else:
        if not can("operate"):
            deny("POST /api/v1/sweeps/run (a real sweep) needs operate")
        report = sweep_runs.run(db.session, manager(), now, actor=actor())
    return jsonify(report.to_dict())


def _openapi() -> tuple[dict, dict]:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok, ref

    count = {"type": "integer", "minimum": 0}
    item = {"type": "object", "required": ["id", "type", "name", "action", "days_quiet"],
            "properties": {"id": {"type": "integer"}, "type": {"type": "string"},
                           "name": {"type": "string"},
                           "action": {"type": "string", "enum": ["warn", "inactivate", "reactivate"]},
                           "days_quiet": {"type": "integer"}}}
    report = {"type": "object", "required": ["scanned", "warned", "inactivated", "reactivated", "items"],
              "properties": {
                  "scanned": count, "warned": count, "inactivated": count, "reactivated": count,
                  "items": {"type": "array", "items": item,
                            "description": "The first 1,000 entities acted on (see items_truncated)."},
                  "refused": count,
                  "problems": {"type": "array", "items": {"type": "string"},
                               "description": "Types that were not swept, and why."},
                  "errors": {"type": "array", "items": {"type": "object", "properties": {
                      "id": {"type": "integer"}, "type": {"type": "string"},
                      "name": {"type": ["string", "null"]},
                      "messages": {"type": "array", "items": {"type": "string"}}}}},
                  "by_type": {"type": "object", "additionalProperties": {
                      "type": "object", "additionalProperties": count}},
                  "dry_run": {"type": "boolean"}, "as_of": {"type": "string", "format": "date-time"},
                  "run_id": {"type": ["integer", "null"]}, "items_truncated": {"type": "boolean"}}}
    paths = {"/sweeps/run": {"post": {
        "summary": "Run the grace-period sweep, dry-run it, or forecast it (as_of)",
        "description": "A real run (dry_run false) needs the operate capability and answers 409 "
                       "while another process is sweeping. as_of is only allowed with dry_run.",
        "requestBody": json_body({"type": "object", "additionalProperties": False, "properties": {
            "dry_run": {"type": "boolean", "default": False},
            "as_of": {"type": "string", "format": "date-time"}}}),
        "responses": {"200": ok(ref("SweepReport")), **ERRORS,
                      "409": {"description": "Another process is sweeping right now."}}}}}
    return paths, {"SweepReport": report}


OPENAPI_PATHS, OPENAPI_SCHEMAS = _openapi()

"""API routes for sweeps (CONTRACT.md §6): run one, dry-run one, or forecast one; read a
past run (what it warned, made inactive, reactivated) and undo it (issue 18)."""
from __future__ import annotations

import uuid

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import actor, body, manager, optional_int, optional_text
from webapp.core.base import bounds
from webapp.core.base.errors import InvalidInput
from webapp.core.bulk import operations as bulk
from webapp.core.sweeps import run_detail
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


@bp.get("/v1/sweeps/runs")
@requires("view")
def sweep_runs_list():
    """Recorded runs, newest first (``before``: the last id of the previous page)."""
    runs = sweep_runs.recent_runs(db.session, optional_int(request.args.get("before"), "before"),
                                  run_detail.PAGE)
    items = [run_detail.summary(db.session, r, run_detail.correlation_id(db.session, r))
             for r in runs]
    return jsonify({"items": items,
                    "next_cursor": runs[-1].id if len(runs) == run_detail.PAGE else None})


@bp.get("/v1/sweeps/runs/<int:run_id>")
@requires("view")
def sweep_run(run_id: int):
    """A run with the first page of each thing it did (the rest from .../items)."""
    run = run_detail.get(db.session, run_id)
    cid = run_detail.correlation_id(db.session, run)
    pages = {a: run_detail.items(db.session, run, cid, a) for a in run_detail.ACTIONS}
    return jsonify(run_detail.summary(db.session, run, cid) | {
        a: {"items": _shown(p.items), "next_cursor": p.next_cursor} for a, p in pages.items()})


@bp.get("/v1/sweeps/runs/<int:run_id>/items")
@requires("view")
def sweep_run_items(run_id: int):
    action = request.args.get("action")
    if action not in run_detail.ACTIONS:
        raise InvalidInput("Say which items: action is warn, inactivate or reactivate.",
                           {"action": "One of: " + ", ".join(run_detail.ACTIONS) + "."})
    after = optional_int(request.args.get("cursor"), "cursor")
    run = run_detail.get(db.session, run_id)
    page = run_detail.items(db.session, run, run_detail.correlation_id(db.session, run), action,
                            after)
    return jsonify({"items": _shown(page.items), "next_cursor": page.next_cursor})


@bp.post("/v1/sweeps/runs/<int:run_id>/undo")
@requires("revert")
def undo_sweep_run(run_id: int):
    """Put back what the run changed (dry_run: what would be); a bulk result."""
    data = body({"dry_run", "comments", "force"})
    req = run_detail.undo_request(db.session, actor(), run_detail.get(db.session, run_id),
                                  _flag(data, "dry_run"),
                                  optional_text(data.get("comments"), "comments"),
                                  _flag(data, "force"))
    cid = "" if req.dry_run else str(uuid.uuid4())
    return jsonify(bulk.run(db.session, manager(), actor(), req, cid).to_dict())


def _flag(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false.", {name: "Send true or false."})
    return value


def _shown(items: list[dict]) -> list[dict]:
    return [{k: v for k, v in i.items() if k != "cursor"} for i in items]


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
    paths.update(_run_paths(count))
    return paths, {"SweepReport": report}


def _run_paths(count: dict) -> dict:
    from webapp.blueprints.api.openapi import ERRORS, json_body, ok, query, ref

    nullable = {"type": ["string", "null"]}
    run = {"type": "object", "properties": {
        "id": {"type": "integer"}, "started_at": {"type": "string"}, "finished_at": nullable,
        "triggered_by": {"type": "string"}, "scanned": count, "warned": count,
        "inactivated": count, "reactivated": count, "error": nullable,
        "correlation_id": nullable, "undoable": {"type": "boolean"}}}
    item = {"type": "object", "properties": {
        "id": {"type": "integer"}, "type": nullable, "name": nullable, "status": nullable,
        "old_status": nullable, "new_status": nullable, "change_id": {"type": "integer"},
        "reason": nullable, "days_quiet": {"type": ["integer", "null"]}}}
    page = {"type": "object", "properties": {"items": {"type": "array", "items": item},
                                             "next_cursor": {"type": ["integer", "null"]}}}
    path_id = [{"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    not_found = {"404": {"description": "No such sweep run (or, for undo, nothing to undo)."}}
    return {
        "/sweeps/runs": {"get": {
            "summary": "Recorded sweep runs, newest first",
            "parameters": [query("before", {"type": "integer", "minimum": 1},
                                 "next_cursor of the previous page.")],
            "responses": {"200": ok({"type": "object", "properties": {
                "items": {"type": "array", "items": run},
                "next_cursor": {"type": ["integer", "null"]}}}), **ERRORS}}},
        "/sweeps/runs/{run_id}": {"parameters": path_id, "get": {
            "summary": "A run, with the first page of what it warned, made inactive, reactivated",
            "responses": {"200": ok({"allOf": [run, {"type": "object", "properties": {
                "warn": page, "inactivate": page, "reactivate": page}}]}),
                **ERRORS, **not_found}}},
        "/sweeps/runs/{run_id}/items": {"parameters": path_id, "get": {
            "summary": "The next page of what a run did",
            "parameters": [
                query("action", {"type": "string", "enum": ["warn", "inactivate", "reactivate"]},
                      required=True),
                query("cursor", {"type": "integer", "minimum": 1},
                      "next_cursor of the previous page.", required=True)],
            "responses": {"200": ok(page), **ERRORS, **not_found}}},
        "/sweeps/runs/{run_id}/undo": {"parameters": path_id, "post": {
            "summary": "Undo a run as one operation (dry_run to preview)",
            "description": "Each change the run made is put back as a new change (source "
                           "revert); entities changed since are reported in failure_details, "
                           "not overwritten. Warnings stay sent.",
            "requestBody": json_body({"type": "object", "additionalProperties": False,
                                      "properties": {
                                          "dry_run": {"type": "boolean", "default": False},
                                          "comments": {"type": "string", "maxLength": 2000},
                                          "force": {"type": "boolean", "default": False}}}),
            "responses": {"200": ok(ref("BulkResult")), **ERRORS, **not_found}}},
    }


OPENAPI_PATHS, OPENAPI_SCHEMAS = _openapi()

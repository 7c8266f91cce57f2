"""Entity routes of the JSON API (CONTRACT.md §6)."""
from __future__ import annotations

from flask import jsonify, request

from webapp.blueprints.api import bp
from webapp.blueprints.api.common import (
    actor,
    body,
    manager,
    optional_int,
    optional_text,
    parse_time,
)
from webapp.core.approvals import records as approval_records
from webapp.core.approvals import requests as approval_requests
from webapp.core.base import paging
from webapp.core.base.errors import InvalidInput
from webapp.core.changes import history
from webapp.core.lists import field_filters, listing, sla_filters
from webapp.extensions import db
from webapp.models import Approval
from webapp.permissions import requires
from webapp.sensitive import data_view


@bp.get("/v1/entities")
@requires("view")
def list_entities():
    args = request.args
    type_ = args.get("type") or None
    specs, label = _fields_of(type_, args)
    filters = listing.Filters(type=type_, status=args.get("status") or None,
                              q=optional_text(args.get("q"), "q", 200),
                              parent_id=optional_int(args.get("parent_id"), "parent_id"),
                              fields=field_filters.parse(args, specs or {}, label),
                              sla=sla_filters.parse(args.get("sla"), manager().clock()))
    sort = listing.Sort.parse(args.get("sort"), specs, label)
    found = listing.browse(db.session, manager().vocabulary, filters, sort,
                           paging.check_limit(args.get("limit")), args.get("cursor"))
    view = data_view()
    slas = view.slas(found.rows)
    return jsonify({"items": [view.entity(e, slas[e.id]) for e in found.rows],
                    "next_cursor": found.next_cursor})


def _fields_of(type_: str | None, args) -> tuple[dict | None, str]:
    """The listed type's fields, for ``data.*`` filters and sorts (which need a known type)."""
    on_fields = any(k.startswith("data.") for k in args) or (args.get("sort") or ""
                                                             ).lstrip("-").startswith("data.")
    if not on_fields:
        return None, "This type"
    known = manager().workflows.all(db.session)
    if type_ not in known:
        raise InvalidInput("Filter and sort on fields within one known type.",
                           {"type": "Give the type whose fields you filter or sort on."})
    return known[type_].fields, known[type_].label


@bp.post("/v1/entities")
@requires("operate")
def create_entity():
    data = body({"type", "name", "status", "data", "parent_id", "last_activity_at"})
    if data.get("last_activity_at") is not None:
        data["last_activity_at"] = parse_time(data["last_activity_at"], "last_activity_at")
    entity = manager().create_entity(db.session, actor(), source="api", **data)
    return jsonify(data_view().entity(entity)), 201


@bp.get("/v1/entities/<int:entity_id>")
@requires("view")
def get_entity(entity_id: int):
    entity = data_view().entity(manager().get(db.session, entity_id))
    pending = approval_requests.pending_for(db.session, entity_id)
    return jsonify({**entity, "pending_approval": approval_records.to_dict(pending) if pending else None})


@bp.patch("/v1/entities/<int:entity_id>")
@requires("operate")
def update_entity(entity_id: int):
    data = body({"version", "name", "data"})
    entity = manager().update_entity(db.session, actor(), entity_id, version=data.get("version"),
                                     name=data.get("name"), data=data.get("data"))
    return jsonify(data_view().entity(entity))


@bp.get("/v1/entities/<int:entity_id>/transitions")
@requires("view")
def allowed_transitions(entity_id: int):
    moves = manager().allowed_transitions(db.session, actor(), entity_id)
    wf = manager().workflow(db.session, manager().get(db.session, entity_id).type)
    for m in moves:  # who must approve it (CONTRACT §9); empty: it happens at once
        m["approval_roles"] = list(getattr(wf.by_name(m["action"]), "approval_roles", ()))
    return jsonify(moves)


@bp.post("/v1/entities/<int:entity_id>/transition")
@requires("operate")
def transition(entity_id: int):
    data = body({"to", "reason", "version"})
    outcome = approval_requests.transition_or_ask(
        manager(), db.session, actor(), entity_id, data.get("to"),
        reason=optional_text(data.get("reason"), "reason"), version=_version(data.get("version")),
        source="api", correlation_id=request.headers.get("X-Correlation-ID") or None)
    if isinstance(outcome, Approval):  # the transition needs approval: asked, nothing moved
        return jsonify({"approval": approval_records.to_dict(outcome)}), 202
    return jsonify({**data_view().entity(outcome.entity), "cascaded": outcome.cascaded})


def _version(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("version must be a whole number.", {"version": "Send the version you read."})
    return value


@bp.post("/v1/entities/<int:entity_id>/activity")
@requires("operate")
def record_activity(entity_id: int):
    note = optional_text(body({"note"}).get("note"), "note")
    outcome = manager().record_activity(db.session, actor(), entity_id, note)
    return jsonify(data_view().entity(outcome.entity))


@bp.get("/v1/entities/<int:entity_id>/history")
@requires("view")
def entity_history(entity_id: int):
    cursor = optional_int(request.args.get("cursor"), "cursor")
    rows, next_id = history.page(db.session, entity_id, paging.check_limit(request.args.get("limit")),
                                 cursor)
    entity_type = manager().get(db.session, entity_id).type
    return jsonify({"items": [data_view().change(r, entity_type) for r in rows],
                    "next_cursor": str(next_id) if next_id else None})


@bp.get("/v1/entities/<int:entity_id>/state-at")
@requires("view")
def state_at(entity_id: int):
    at = parse_time(request.args.get("at"), "at")
    state = history.state_at(db.session, entity_id, at)
    data = data_view().data(manager().get(db.session, entity_id).type, state["data"])
    return jsonify({"status": state["status"], "data": data, "as_of": state["as_of"]})


@bp.post("/v1/entities/<int:entity_id>/revert")
@requires("revert")
def revert(entity_id: int):
    data = body({"change_id", "at", "reason", "force"})
    at = parse_time(data["at"], "at") if data.get("at") is not None else None
    force = data.get("force", False)
    if not isinstance(force, bool):
        raise InvalidInput("force must be true or false.", {"force": "Send a boolean."})
    outcome = manager().revert(db.session, actor(), entity_id, change_id=data.get("change_id"),
                               at=at, reason=optional_text(data.get("reason"), "reason"), force=force)
    return jsonify({**data_view().entity(outcome.entity), "cascaded": outcome.cascaded})


def _openapi_paths() -> dict:
    from webapp.blueprints.api.openapi import ERRORS, PATH_ID, json_body, ok, query, ref

    entity, page = ref("Entity"), {"type": "object", "properties": {
        "items": {"type": "array", "items": ref("Entity")}, "next_cursor": {"type": ["string", "null"]}}}
    errors_404 = {**ERRORS, "404": {"description": "No such entity."}}
    moves = {**errors_404, "409": {"description": "Stale version."},
             "422": {"description": "invalid_transition or rule_violation, with messages."}}
    return {
        "/entities": {
            "get": {"summary": "List entities (newest first, keyset pages)",
                    "description": "Filters on a type's filterable declared fields are "
                                   "data.<field>[__gt|__gte|__lt|__lte|__in|__contains]=value "
                                   "(with type); any other field is a 400 naming it.",
                    "parameters": [
                query("type", {"type": "string"}), query("status", {"type": "string"}),
                query("q", {"type": "string"}, "typo-tolerant name search"),
                query("parent_id", {"type": "integer"}),
                query("sla", {"type": "string", "enum": ["breached", "at_risk"]},
                      "entities with an SLA clock breached, or at risk (80 % of its goal used)"),
                query("sort", {"type": "string"}, "id, name, status, last_activity_at, "
                      "data.<filterable field> or sla_due (with a type that has SLAs: by due "
                      "time, clocks not running last); a leading - sorts descending"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                query("cursor", {"type": "string"})],
                "responses": {"200": ok(page), **ERRORS}},
            "post": {"summary": "Create an entity", "requestBody": json_body({
                "type": "object", "required": ["type", "name"], "additionalProperties": False,
                "properties": {"type": {"type": "string"}, "name": {"type": "string", "maxLength": 200},
                               "status": {"type": "string"}, "data": {"type": "object"},
                               "parent_id": {"type": ["integer", "null"]},
                               "last_activity_at": {"type": "string", "format": "date-time"}}}),
                "responses": {"201": ok(entity, "Created"), **ERRORS}}},
        "/entities/{entity_id}": {
            "parameters": [PATH_ID],
            "get": {"summary": "One entity", "responses": {"200": ok(entity), **errors_404}},
            "patch": {"summary": "Rename or merge-patch data (RFC 7396)", "requestBody": json_body({
                "type": "object", "required": ["version"], "additionalProperties": False,
                "properties": {"version": {"type": "integer"}, "name": {"type": "string"},
                               "data": {"type": "object"}}}),
                "responses": {"200": ok(entity), **moves}}},
        "/entities/{entity_id}/transitions": {
            "parameters": [PATH_ID],
            "get": {"summary": "Moves out of the current state, blocked ones with reasons",
                    "responses": {"200": ok({"type": "array", "items": {"type": "object", "properties": {
                        "action": {"type": "string"}, "to": {"type": "string"},
                        "allowed": {"type": "boolean"},
                        "reasons": {"type": "array", "items": {"type": "string"}}}}}), **errors_404}}},
        "/entities/{entity_id}/transition": {
            "parameters": [PATH_ID],
            "post": {"summary": "Change the status", "requestBody": json_body({
                "type": "object", "required": ["to"], "additionalProperties": False,
                "properties": {"to": {"type": "string"}, "reason": {"type": "string"},
                               "version": {"type": "integer"}}}),
                "responses": {"200": ok(entity), **moves,
                              "202": ok({"type": "object", "properties": {"approval": ref("Approval")}},
                                        "The transition needs approval: a request was recorded "
                                        "and nothing changed (409 while one waits).")}}},
        "/entities/{entity_id}/activity": {
            "parameters": [PATH_ID],
            "post": {"summary": "Record activity (reactivates a swept entity)",
                     "requestBody": {"required": False, "content": {"application/json": {"schema": {
                         "type": "object", "additionalProperties": False,
                         "properties": {"note": {"type": "string"}}}}}},
                     "responses": {"200": ok(entity), **errors_404}}},
        "/entities/{entity_id}/history": {
            "parameters": [PATH_ID],
            "get": {"summary": "History, newest first", "parameters": [
                query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                query("cursor", {"type": "string"})],
                "responses": {"200": ok({"type": "object", "properties": {
                    "items": {"type": "array", "items": ref("HistoryItem")},
                    "next_cursor": {"type": ["string", "null"]}}}), **errors_404}}},
        "/entities/{entity_id}/state-at": {
            "parameters": [PATH_ID],
            "get": {"summary": "The status and data at a moment", "parameters": [
                query("at", {"type": "string", "format": "date-time"}, required=True)],
                "responses": {"200": ok({"type": "object", "properties": {
                    "status": {"type": "string"}, "data": {"type": "object"},
                    "as_of": {"type": "string"}}}), **errors_404}}},
        "/entities/{entity_id}/revert": {
            "parameters": [PATH_ID],
            "post": {"summary": "Revert a change or go back to a time", "requestBody": json_body({
                "type": "object", "required": ["reason"], "additionalProperties": False,
                "properties": {"change_id": {"type": "integer"}, "at": {"type": "string"},
                               "reason": {"type": "string"}, "force": {"type": "boolean"}}}),
                "responses": {"200": ok(entity), **moves}}},
    }


OPENAPI_PATHS = _openapi_paths()

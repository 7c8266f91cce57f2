"""GET /api/openapi.json: OpenAPI 3 for every route of the contract.

Each API module declares ``OPENAPI_PATHS`` next to its routes; this module joins them with the
shared schemas so the document cannot drift far from the code, and states once the rules every
route's parsing shares (``as_served``): ids are row ids (``storable_id``: 1 to ID_MAX), a target
state is never empty, and an optional query value sent empty is taken as not sent.
"""
from __future__ import annotations

import copy
import importlib
import re
from typing import Any

from flask import jsonify

from webapp.blueprints.api import ROUTE_MODULES as API_MODULES
from webapp.blueprints.api import bp
from webapp.core.base.errors import ID_MAX
from webapp.core.changes.writer import SOURCES
from webapp.permissions import PUBLIC, requires

#: A row id, wherever one is read (webapp.core.base.errors.storable_id).
ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
#: Names of ids: ``id``, ``ids``, ``entity_id``, ``parent_id``, ``change_id``...
ID_NAME = re.compile(r"(\w+_)?ids?")
#: Properties naming a state to move to: an empty one is refused (400), never "no state".
TARGETS = ("to", "target_state")


def error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


#: The error answers every route may give (CONTRACT.md §6).
ERRORS = {
    "400": error_response("Bad input; `fields` names each problem."),
    "401": error_response("No or bad credentials."),
    "403": error_response("Your role may not do this (recorded in the audit log)."),
    "429": error_response("Too many requests; see Retry-After."),
}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, schema: dict[str, Any], description: str = "", required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


PATH_ID = {"name": "entity_id", "in": "path", "required": True, "schema": dict(ID)}
NULLABLE_STR = {"type": ["string", "null"]}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "messages": {"type": "array", "items": {"type": "string"}},
        "your_version": {"type": ["integer", "null"]}, "current_version": {"type": "integer"}}},
    "Entity": {"type": "object", "required": ["id", "type", "name", "status", "version", "data"],
               "properties": {
                   "id": {"type": "integer"}, "type": {"type": "string"}, "name": {"type": "string"},
                   "status": {"type": "string"}, "version": {"type": "integer"},
                   "data": {"type": "object"}, "parent_id": {"type": ["integer", "null"]},
                   "last_activity_at": NULLABLE_STR, "status_changed_at": NULLABLE_STR,
                   "created_at": NULLABLE_STR, "updated_at": NULLABLE_STR,
                   "slas": {"type": "array", "items": {"type": "object", "properties": {
                       "name": {"type": "string"}, "goal_hours": {"type": ["number", "null"]},
                       "elapsed_seconds": {"type": "integer"},
                       "remaining_seconds": {"type": ["integer", "null"]},
                       "paused": {"type": "boolean"}, "breached": {"type": "boolean"},
                       "due_at": NULLABLE_STR}}},
                   "cascaded": {"type": "array", "items": {"type": "integer"}}}},
    "HistoryItem": {"type": "object", "properties": {
        "id": {"type": "integer"}, "entity_id": {"type": "integer"},
        "old_status": NULLABLE_STR, "new_status": {"type": "string"},
        "action": {"type": "string"}, "reason": NULLABLE_STR, "actor": {"type": "string"},
        "source": {"type": "string", "enum": list(SOURCES)},
        "correlation_id": {"type": "string"}, "metadata": {"type": "object"},
        "created_at": {"type": "string"}}},
}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas = dict(SCHEMAS)
    for name in API_MODULES:
        try:
            module = importlib.import_module(f"webapp.blueprints.api.{name}")
        except ModuleNotFoundError:
            continue
        paths.update(as_served(getattr(module, "OPENAPI_PATHS", {})))
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Statekeeper API", "version": "1",
                 "description": "Status management: entities, transitions, history, bulk work, "
                                "sweeps, configuration and audit."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


def as_served(paths: dict[str, Any]) -> dict[str, Any]:
    """The paths (a copy) with the rules every route's parsing applies: id parameters and id
    properties of request bodies are ``ID``, ``TARGETS`` are non-empty strings, and optional
    query parameters allow an empty value (``?limit=``: the default, as if not sent)."""
    paths = copy.deepcopy(paths)
    for item in paths.values():
        operations = [op for op in item.values() if isinstance(op, dict)]
        for param in [*item.get("parameters", []), *(p for op in operations
                                                      for p in op.get("parameters", []))]:
            _tighten(param["name"], param["schema"])
            if param["in"] == "query" and not param.get("required"):
                param["allowEmptyValue"] = True
        for op in operations:
            for content in (op.get("requestBody") or {}).get("content", {}).values():
                _tighten_body(content["schema"])
    return paths


def _tighten_body(schema: Any, name: str = "") -> None:
    if not isinstance(schema, dict):
        return
    _tighten(name, schema)
    for key, sub in (schema.get("properties") or {}).items():
        _tighten_body(sub, key)
    _tighten_body(schema.get("items"), name)  # an array's items under the array's name


def _tighten(name: str, schema: dict[str, Any]) -> None:
    if schema.get("type") == "integer" and ID_NAME.fullmatch(name):
        schema.update(minimum=ID["minimum"], maximum=ID["maximum"])
        schema.pop("format", None)
    elif schema.get("type") == "string" and name in TARGETS:
        schema["minLength"] = max(schema.get("minLength", 0), 1)


@bp.get("/openapi.json")
@requires(PUBLIC)
def openapi():
    return jsonify(document())

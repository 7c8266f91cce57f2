"""Request parsing shared by the API routes: bodies, numbers, times, the actor."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from webapp.core.base import bounds
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, storable_id
from webapp.core.changes.manager import StateManager
from webapp.web_context import current_actor


def manager() -> StateManager:
    return StateManager.get_instance()


def actor() -> Actor:
    return current_actor()


def body(allowed: set[str] | None = None) -> dict[str, Any]:
    """The JSON object sent; 400 naming the problem when it is not one."""
    data = request.get_json(silent=True)
    if data is None:
        if request.content_length in (None, 0) and not request.data:
            data = {}
        else:
            raise InvalidInput("The body is not valid JSON.", {"body": "Send a JSON object."})
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.", {"body": "Send a JSON object."})
    if allowed is not None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise InvalidInput("Unknown fields.", {k: "not accepted here" for k in unknown})
    return data


def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 time between the years 1970 and 9999; naive times are taken as UTC."""
    return bounds.parse_time(value, field)


def optional_int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number.", {field: "Send a whole number."})
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field} must be a whole number.", {field: "Send a whole number."}) from exc
    if not storable_id(number):
        raise InvalidInput(f"{field} is out of range.", {field: "Send a positive id."})
    return number


def optional_text(value: Any, field: str, max_len: int = 2000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.", {field: "Send a string."})
    if len(value) > max_len:
        raise InvalidInput(f"{field} is too long.", {field: f"At most {max_len} characters."})
    return value.strip() or None

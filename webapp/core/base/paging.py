"""Keyset paging shared by the entity lists, the audit log and the APIs: opaque cursors that
remember where a page ended (the row's id, and its sort value when the sort is not by id), and
the page-size check. A cursor is never trusted: a bad one is a 400, never a 500."""
from __future__ import annotations

import base64
import json
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webapp.core.base.errors import InvalidInput, storable_id

LIMIT_MAX = 500
_BAD = ("That cursor is not valid.", {"cursor": "Use next_cursor as given."})


@dataclass(frozen=True)
class Position:
    """Where a page ended: after (``next``) or before (``prev``) this row."""

    direction: str
    id: int
    key: str = "id"
    value: Any = None


def encode_cursor(row_id: int, direction: str = "next") -> str:
    return _b64(f"{direction}:{row_id}")


def encode_position(row: Any, direction: str, key: str) -> str:
    """The cursor of ``row`` in a page sorted by its attribute ``key``."""
    if key == "id":
        return encode_cursor(row.id, direction)
    value = getattr(row, key)
    return encode_value(row.id, direction, key, value.isoformat() if isinstance(value, datetime)
                        else value)


def encode_value(row_id: int, direction: str, key: str, value: str | bool | None) -> str:
    """The cursor of the row ``row_id`` whose sort key ``key`` holds ``value`` (a string, or
    for a declared field's sort also a boolean or None: a missing value)."""
    return _b64(json.dumps([direction, row_id, key, value]))


def decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    """(direction, id) of an id cursor, None for no cursor."""
    position = decode_position(cursor, ())
    return (position.direction, position.id) if position else None


def decode_position(cursor: str | None, keys: Container[str]) -> Position | None:
    """The position a cursor names, for a sort by id or by one of ``keys``."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position = _parse(raw, keys)
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(*_BAD) from exc
    if position.direction not in ("next", "prev"):
        raise InvalidInput(*_BAD)
    return position


def check_limit(limit: Any, default: int = 50) -> int:
    if limit in (None, ""):
        return default
    try:
        value = int(limit)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("limit must be a number.", {"limit": f"1 to {LIMIT_MAX}."}) from exc
    if not 1 <= value <= LIMIT_MAX:
        raise InvalidInput("limit out of range.", {"limit": f"Use 1 to {LIMIT_MAX}."})
    return value


def _parse(raw: str, keys: Container[str]) -> Position:
    if raw.startswith("["):
        direction, row_id, key, value = json.loads(raw)
        if key not in keys or key == "id" or not storable_id(row_id):
            raise ValueError(key)
        if key == "last_activity_at":
            value = datetime.fromisoformat(value)
        elif key.startswith("data."):
            if value is not None and not isinstance(value, str | bool):
                raise ValueError(value)
        elif not isinstance(value, str):
            raise ValueError(value)
        return Position(direction, row_id, key, value)
    direction, _, value = raw.partition(":")
    if not storable_id(int(value)):
        raise ValueError(value)
    return Position(direction, int(value))


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

"""Entity lists: filters, typo-tolerant search and keyset pagination (never a full COUNT)."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from webapp.core import search
from webapp.core.errors import InvalidInput
from webapp.models import Entity

LIMIT_MAX = 500
SORTS = {"id": Entity.id, "name": Entity.name, "status": Entity.status,
         "last_activity_at": Entity.last_activity_at}


@dataclass(frozen=True)
class Filters:
    type: str | None = None
    status: str | None = None
    q: str | None = None
    parent_id: int | None = None
    #: Only entities with no activity since this time ("quiet for N days").
    inactive_since: datetime | None = None


def encode_cursor(entity_id: int, direction: str = "next") -> str:
    return base64.urlsafe_b64encode(f"{direction}:{entity_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, _, value = raw.partition(":")
        if direction not in ("next", "prev"):
            raise ValueError(direction)
        return direction, int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("That cursor is not valid.", {"cursor": "Use next_cursor as given."}) from exc


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


def query(session: Session, vocabulary: search.Vocabulary, f: Filters) -> Select[tuple[Entity]]:
    stmt = select(Entity)
    if f.type:
        stmt = stmt.where(Entity.type == f.type)
    if f.status:
        stmt = stmt.where(Entity.status == f.status)
    if f.parent_id is not None:
        stmt = stmt.where(Entity.parent_id == f.parent_id)
    if f.inactive_since is not None:
        stmt = stmt.where(Entity.last_activity_at < f.inactive_since)
    if f.q and f.q.strip():
        stmt = stmt.where(search.name_filter(session, search.corrected(session, vocabulary, f.q)))
    return stmt


def page(session: Session, vocabulary: search.Vocabulary, f: Filters, limit: int = 50,
         cursor: str | None = None) -> tuple[list[Entity], str | None, str | None]:
    """Newest first; returns (rows, next_cursor, prev_cursor)."""
    stmt = query(session, vocabulary, f)
    position = decode_cursor(cursor)
    backwards = position is not None and position[0] == "prev"
    if position:
        stmt = stmt.where(Entity.id > position[1] if backwards else Entity.id < position[1])
    order = Entity.id.asc() if backwards else Entity.id.desc()
    rows = list(session.scalars(stmt.order_by(order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and bool(rows))
    has_prev = position is not None and (not backwards or more)
    next_cursor = encode_cursor(rows[-1].id) if rows and has_next else None
    prev_cursor = encode_cursor(rows[0].id, "prev") if rows and has_prev else None
    return rows, next_cursor, prev_cursor

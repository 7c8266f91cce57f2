"""Rows of a list page by their ids, in the page's order: entities, or the Summary rows a
table shows (the page's ids are found first, core/lists/listing.py, then read here)."""
from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Select,
    String,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from webapp.core.base.relations import IDS_ARE, dialect
from webapp.models import Entity


class Summary(NamedTuple):
    """What a list's table shows of an entity, with its parent's name."""

    id: int
    name: str
    status: str
    last_activity_at: datetime
    parent_id: int | None
    parent_name: str | None
    type: str | None = None
    #: The stored data, for a list's field columns (read only when asked for: ``with_data``).
    data: dict[str, Any] | None = None


def load(session: Session, ids_in_order: Select[tuple[int]],
         params: Mapping[str, Any] | None = None) -> list[Entity]:
    """The page's ids first (``params``: the values of the statement's bound parameters),
    then their rows: sorting ids (often straight off an index) is far cheaper than sorting
    whole rows when thousands match, as a common search word does."""
    ids = list(session.scalars(ids_in_order, params))
    if not ids:
        return []
    found = {e.id: e for e in session.scalars(_ENTITIES[dialect(session)], {"ids": ids})}
    return [found[i] for i in ids if i in found]


_ENTITIES = {dialect: select(Entity).where(ids) for dialect, ids in IDS_ARE.items()}


_parent = aliased(Entity, name="parent")
_SUMMARY_COLUMNS = (Entity.id, Entity.name, Entity.status, Entity.last_activity_at,
                    Entity.parent_id, _parent.name, Entity.type)
#: (dialect, with the data) -> the statement.
_SUMMARIES = {(dialect, with_data): select(*_SUMMARY_COLUMNS, *((Entity.data,) if with_data else ()))
              .outerjoin(_parent, _parent.id == Entity.parent_id).where(ids)
              for dialect, ids in IDS_ARE.items() for with_data in (False, True)}


def load_summaries(session: Session, ids_in_order: Select[tuple[int]],
                   with_data: bool = False, params: Mapping[str, Any] | None = None
                   ) -> list[Summary]:
    """``load`` for a table: the shown columns and the parent's name in one Core query, built
    once. ORM entities (every column, the data JSON decoded, the identity map) and a second
    query for the parents' names cost three times the CPU: 3.1 against 1.0 ms for a page of
    50 (SQLite, 20,000 entities)."""
    ids = list(session.scalars(ids_in_order, params))
    if not ids:
        return []
    found = {row[0]: Summary(*row) for row in session.execute(_SUMMARIES[dialect(session), with_data],
                                                              {"ids": ids})}
    return [found[i] for i in ids if i in found]


_TABLE, _PARENT = Entity.__table__, Entity.__table__.alias("parent")
#: SQLite's ``->`` (a value as JSON, ``true`` staying a boolean) arrived in 3.38.
_ARROW = sqlite3.sqlite_version_info >= (3, 38)


@functools.cache
def _in_page(ids: Select[tuple[int]], dialect: str, data: bool | tuple[str, ...]) -> Select[Any]:
    """The rows of the page's ids (``ids``, built once), built once per dialect and data.

    On SQLite the time is read as the stored text and parsed by ``_moment``, and only the
    ``data`` keys asked for are read, as one small JSON object made by SQLite (PostgreSQL
    sends jsonb and times already decoded by the driver). Read typed, the list's 50 rows cost
    1.35 ms against 0.49 ms read as text (the driver alone: 0.34 ms; bench/list_load.py's
    page, SQLite): SQLAlchemy's JSON and time processing was most of it."""
    columns = _TABLE.c
    sqlite = dialect == "sqlite"
    when = type_coerce(columns.last_activity_at, String) if sqlite else columns.last_activity_at
    return select(columns.id, columns.name, columns.status, when, columns.parent_id,
                  _PARENT.c.name, columns.type, *_data(columns.data, dialect, data)).outerjoin(
        _PARENT, _PARENT.c.id == columns.parent_id).where(columns.id.in_(ids.scalar_subquery()))


def _data(column: Any, dialect: str, data: bool | tuple[str, ...]) -> tuple[Any, ...]:
    if not data:
        return ()
    if data is True or dialect != "sqlite" or not _ARROW:
        return (column,)
    pairs = [part for key in data for part in (key, column.op("->")(f'$."{key}"'))]
    return (type_coerce(func.json_object(*pairs), JSON),)


def summaries_by_id(session: Session, ids: Select[tuple[int]], params: Mapping[str, Any],
                    descending: bool, data: bool | tuple[str, ...] = False) -> list[Summary]:
    """``load_summaries`` for a page in id order whose ids a statement built once selects
    (listing's plain filters): the ids and their rows in one query, itself built once.
    ``data``: True for the whole data, or the keys wanted (on SQLite the others are left
    out, and a key an entity lacks reads as None)."""
    on = dialect(session)
    found = session.execute(_in_page(ids, on, data), params).all()
    rows = ([Summary(r[0], r[1], r[2], _moment(r[3]), *r[4:]) for r in found] if on == "sqlite"
            else [Summary(*row) for row in found])
    return sorted(rows, key=attrgetter("id"), reverse=descending)


def _moment(stored: str) -> datetime:
    """A time as SQLite keeps it (UTC, "2026-11-17 10:33:32.627374"), as models' UTCDateTime
    reads it."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)

"""The one write path: single changes, bulk, sweeps, cascades, reverts and activity all end here.

Entities, history rows and outbox rows are written with a few set-based statements per call,
inside the caller's transaction; the row version guards against lost updates.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, column, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from webapp.core.base.actor import Actor
from webapp.core.base.errors import ConcurrencyConflict, NotFound, storable_id
from webapp.core.base.events import ENTITY_UPDATED, STATUS_CHANGED, outbox_table
from webapp.core.base.relations import chunked
from webapp.models import Entity, StatusChange
from webapp.models.base import UTCDateTime

SOURCES = ("manual", "api", "bulk", "sweep", "cascade", "revert", "activity", "import")


@dataclass
class Change:
    """A planned change of one entity (its current row is ``entity``)."""

    entity: Entity | EntityRow
    new_status: str
    action: str
    source: str
    reason: str | None = None
    #: New data when the change also rewrites data (updates and reverts); None leaves it.
    new_data: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: The event payload once written (built once for the outbox and the subscribers).
    payload: dict[str, Any] | None = field(default=None, repr=False, compare=False)


def lock_entities(session: Session, ids: Sequence[int]) -> dict[int, Entity]:
    """Load entities for writing: row locks on PostgreSQL (SQLite writers hold the DB lock)."""
    found: dict[int, Entity] = {}
    pg = session.get_bind().dialect.name == "postgresql"
    for chunk in chunked([i for i in ids if storable_id(i)]):
        stmt = select(Entity).where(Entity.id.in_(chunk)).execution_options(populate_existing=True)
        if pg:
            stmt = stmt.with_for_update()
        found.update((e.id, e) for e in session.scalars(stmt))
    return found


@dataclass(slots=True)
class EntityRow:
    """An entity as plain attributes, for set-based work over thousands of rows (bulk changes).

    Building, tracking and refreshing ORM instances cost more than the writes themselves;
    planning, rules and ``write`` only read these attributes, so a plain row serves them.
    """

    id: int
    type: str
    name: str
    status: str
    version: int
    data: dict[str, Any]
    parent_id: int | None
    last_activity_at: datetime
    status_changed_at: datetime
    warned_at: datetime | None
    created_at: datetime
    updated_at: datetime


_ROW_COLUMNS = [Entity.__table__.c[f] for f in EntityRow.__slots__]
#: The same columns untyped: values come as the driver gives them and ``_row_maker`` converts
#: them with fromisoformat/json.loads, several times cheaper per row than the types' result
#: processors (a sweep loads 100,000 of these; bench/sweep.py).
_RAW_COLUMNS = [column(c.name) for c in _ROW_COLUMNS]
_TIMES = [i for i, c in enumerate(_ROW_COLUMNS) if isinstance(c.type, UTCDateTime)]
_DATA = EntityRow.__slots__.index("data")


def _row_maker(sqlite: bool) -> Callable[[Sequence[Any]], EntityRow]:
    """Driver values -> EntityRow, with what UTCDateTime and JSON would return (aware UTC
    datetimes, parsed data); SQLite hands both over as text."""
    def to_time(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite's naive UTC text: one C call makes it aware
            return datetime.fromisoformat(value + "+00:00")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def make(raw: Sequence[Any]) -> EntityRow:
        values = list(raw)
        for i in _TIMES:
            values[i] = to_time(values[i])
        data = values[_DATA]
        if sqlite and isinstance(data, str):
            values[_DATA] = {} if data == "{}" else json.loads(data)
        return EntityRow(*values)
    return make


def lock_rows(session: Session, ids: Sequence[int], lock: bool = True,
              where: Sequence[Any] = ()) -> dict[int, EntityRow]:
    """Entities as EntityRows, in chunks; locked for writing like ``lock_entities`` when ``lock``.

    ``where`` narrows them to those still matching extra conditions (a sweep re-checks who is
    due inside its write transaction)."""
    found: dict[int, EntityRow] = {}
    dialect = session.get_bind().dialect.name
    pg, make = lock and dialect == "postgresql", _row_maker(dialect == "sqlite")
    for chunk in chunked(list(ids)):
        stmt = select(*_RAW_COLUMNS).select_from(_T).where(Entity.id.in_(chunk), *where)
        if pg:
            stmt = stmt.with_for_update()
        # Through the connection: plain rows, without the ORM's loading machinery.
        found.update((row[0], make(row)) for row in session.connection().execute(stmt))
    return found


def lock_entity(session: Session, entity_id: int) -> Entity:
    entity = lock_entities(session, [entity_id]).get(entity_id)
    if entity is None:
        raise NotFound(f"No entity with id {entity_id}.")
    return entity


def write(session: Session, changes: Sequence[Change], actor: Actor, now: datetime,
          correlation_id: str) -> list[int]:
    """Apply the changes; return the new history row ids in the same order."""
    if not changes:
        return []
    _update_entities(session, changes, now)
    history_ids = _insert_history(session, changes, actor, now, correlation_id)
    _insert_events(session, changes, history_ids, actor, now, correlation_id)
    return history_ids


_T = Entity.__table__
_H = StatusChange.__table__
_O = outbox_table()


# The statements below run once per chunk of thousands of rows, through the driver's
# executemany: each value is converted by its column type's own bind processor (the same
# conversion SQLAlchemy would apply), but without SQLAlchemy's per-row parameter machinery,
# which cost more than the database work itself (bench/bulk.py).
def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _binder(conn: Connection, column: Any) -> Callable[[Any], Any]:
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process or (lambda value: value)


def _insert_sql(conn: Connection, table: Any, columns: Sequence[str]) -> str:
    marks = ", ".join([_mark(conn)] * len(columns))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"


def _update_entities(session: Session, changes: Sequence[Change], now: datetime) -> None:
    conn = session.connection()
    plain = [c for c in changes if c.new_data is None]
    with_data = [c for c in changes if c.new_data is not None]
    for group, data in ((plain, False), (with_data, True)):
        if group:
            rows = _update_rows(conn, group, now, data)
            if _pg(conn):
                result = conn.exec_driver_sql(_PG_UPDATE[data], _columns(rows))
            else:
                result = conn.exec_driver_sql(_update_sql(conn, data), rows)
            if result.rowcount not in (len(group), -1):
                _raise_conflict(session, group)
    for c in changes:
        _refresh_in_memory(c, now)


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _columns(rows: list[tuple]) -> tuple[list[Any], ...]:
    """Rows turned into one list per column, for PostgreSQL's unnest(): one statement for all
    (a tuple: one set of parameters, not many)."""
    return tuple(list(column) for column in zip(*rows, strict=True))


def _update_sql(conn: Connection, data: bool) -> str:
    m = _mark(conn)
    extra = f", data={m}, name={m}" if data else ""
    return (f"UPDATE {_T.name} SET status={m}, version=version+1, status_changed_at={m}, "
            f"updated_at={m}{extra} WHERE id={m} AND version={m}")


def _pg_update(data: bool) -> str:
    sets = ", data = v.data::jsonb, name = v.name" if data else ""
    arrays = ", %s::text[], %s::varchar[]" if data else ""
    names = ", data, name" if data else ""
    return (f"UPDATE {_T.name} AS e SET status = v.status, version = e.version + 1, "
            f"status_changed_at = v.changed_at, updated_at = v.now{sets} "
            f"FROM unnest(%s::varchar[], %s::timestamp[], %s::timestamp[]{arrays}, %s::integer[], "
            f"%s::integer[]) AS v(status, changed_at, now{names}, id, version) "
            f"WHERE e.id = v.id AND e.version = v.version")


_PG_UPDATE = {False: _pg_update(False), True: _pg_update(True)}


def _update_rows(conn: Connection, group: Sequence[Change], now: datetime, data: bool) -> list[tuple]:
    when = _binder(conn, _T.c.updated_at)
    as_json = json.dumps if _pg(conn) else _binder(conn, _T.c.data)  # unnest takes JSON text
    now_db = when(now)
    rows = []
    for c in group:
        e = c.entity
        changed_at = now_db if c.new_status != e.status else when(e.status_changed_at)
        extra = (as_json(c.new_data), c.meta.get("name_after", e.name)) if data else ()
        rows.append((c.new_status, changed_at, now_db, *extra, e.id, e.version))
    rows.sort(key=lambda row: row[-2])  # in id order: neighbouring rows share index pages
    return rows


def _raise_conflict(session: Session, group: Sequence[Change]) -> None:
    for c in group:
        current = session.scalar(select(Entity.version).where(Entity.id == c.entity.id))
        if current != c.entity.version + 1:
            raise ConcurrencyConflict(
                f"{c.entity.type} {c.entity.id} was changed by someone else meanwhile.",
                c.entity.version, current or 0)
    raise ConcurrencyConflict("Entities were changed by someone else meanwhile.", None, 0)


def _refresh_in_memory(c: Change, now: datetime) -> None:
    e = c.entity
    c.meta.setdefault("seconds_in_previous", (now - e.status_changed_at).total_seconds())
    c.meta["old_status"] = e.status
    values = {"status": c.new_status, "version": e.version + 1, "updated_at": now}
    if c.new_status != e.status:
        values["status_changed_at"] = now
    if c.new_data is not None:
        values.update(data=c.new_data, name=c.meta.get("name_after", e.name))
    if isinstance(e, EntityRow):
        for key, value in values.items():
            setattr(e, key, value)
        return
    state = instance_state(e)
    if state.modified or state.expired_attributes:
        for key, value in values.items():
            set_committed_value(e, key, value)
    else:  # a clean, loaded row keeps its committed values in its dict: a fifth of the cost
        state.dict.update(values)


def _insert_history(session: Session, changes: Sequence[Change], actor: Actor, now: datetime,
                    correlation_id: str) -> list[int]:
    conn = session.connection()
    # Rows go in by entity id (the (entity_id, id) index then fills page by page); the ids
    # are handed back in the order of ``changes``.
    order = sorted(range(len(changes)), key=lambda i: changes[i].entity.id)
    ids = [0] * len(changes)
    for hid, i in zip(_history_ids(conn, len(changes)), order, strict=True):
        ids[i] = hid
    pg = _pg(conn)
    as_json = json.dumps if pg else _binder(conn, _H.c.metadata)
    now_db = _binder(conn, _H.c.created_at)(now)
    empty = as_json({})  # most changes (every sweep's) have no metadata: serialised once
    rows = [(ids[i], c.entity.id, c.meta["old_status"], c.new_status, c.action, c.reason,
             actor.name, c.source, correlation_id, _metadata(c.meta, as_json, empty),
             c.meta["seconds_in_previous"], now_db) for i in order for c in (changes[i],)]
    if pg:
        conn.exec_driver_sql(_PG_HISTORY, _columns(rows))
    else:
        conn.exec_driver_sql(_insert_sql(conn, _H, _HISTORY_COLUMNS), rows)
    return ids


_NOT_METADATA = frozenset({"old_status", "seconds_in_previous", "name_after"})


def _metadata(meta: dict[str, Any], as_json: Callable[[Any], Any], empty: Any) -> Any:
    """The change's metadata column: its meta without what has columns of its own."""
    if meta.keys() <= _NOT_METADATA:
        return empty
    return as_json({k: v for k, v in meta.items() if k not in _NOT_METADATA})


_HISTORY_COLUMNS = ("id", "entity_id", "old_status", "new_status", "action", "reason", "actor",
                    "source", "correlation_id", "metadata", "seconds_in_previous", "created_at")
_PG_HISTORY = (
    f"INSERT INTO {_H.name} ({', '.join(_HISTORY_COLUMNS)}) "
    f"SELECT v.id, v.entity_id, v.old_status, v.new_status, v.action, v.reason, v.actor, v.source, "
    f"v.correlation_id, v.metadata::jsonb, v.seconds_in_previous, v.created_at "
    f"FROM unnest(%s::integer[], %s::integer[], %s::varchar[], %s::varchar[], %s::varchar[], "
    f"%s::text[], %s::varchar[], %s::varchar[], %s::varchar[], %s::text[], %s::float8[], "
    f"%s::timestamp[]) AS v({', '.join(_HISTORY_COLUMNS)})")


def _history_ids(conn: Connection, n: int) -> list[int]:
    """Ids for n new history rows, in order, allocated before the insert (no RETURNING:
    SQLite would then insert row by row)."""
    if conn.dialect.name == "postgresql":
        return sorted(conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{_H.name}', 'id')) "
            f"FROM generate_series(1, %s)", (n,)).scalars())
    # SQLite: this transaction holds the database's write lock, so max(id) cannot move.
    first = (conn.exec_driver_sql(f"SELECT max(id) FROM {_H.name}").scalar() or 0) + 1
    return list(range(first, first + n))


def _insert_events(session: Session, changes: Sequence[Change], history_ids: Sequence[int],
                   actor: Actor, now: datetime, correlation_id: str) -> None:
    """One outbox row per change that moved a status or data, built by the database from the
    history rows just written (the payload is ``event_payload``'s, key for key)."""
    wanted = [hid for c, hid in zip(changes, history_ids, strict=True)
              if c.meta["old_status"] != c.new_status or c.new_data is not None]
    if not wanted:
        return
    conn = session.connection()
    now_db = _binder(conn, _O.c.created_at)(now)
    pg = conn.dialect.name == "postgresql"
    for part in chunked(wanted):
        if pg:
            conn.exec_driver_sql(_events_sql(True, 0), (now_db, now_db, list(part)))
        else:
            conn.exec_driver_sql(_events_sql(False, len(part)), (now_db, now_db, *part))


_PAYLOAD_KEYS = (("change_id", "h.id"), ("entity_id", "h.entity_id"), ("type", "e.type"),
                 ("name", "e.name"), ("old_status", "h.old_status"),
                 ("new_status", "h.new_status"), ("action", "h.action"), ("source", "h.source"),
                 ("actor", "h.actor"), ("correlation_id", "h.correlation_id"),
                 ("parent_id", "e.parent_id"))
#: A version-4 UUID made by SQLite (PostgreSQL has gen_random_uuid()).
_SQLITE_UUID = ("lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
                "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) "
                "|| substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))")


#: A change that kept the status (a data update) is an EntityUpdated, not a StatusChanged.
_EVENT = (f"CASE WHEN h.old_status = h.new_status THEN '{ENTITY_UPDATED}' "
          f"ELSE '{STATUS_CHANGED}' END")


def event_type(old_status: str, new_status: str) -> str:
    return ENTITY_UPDATED if old_status == new_status else STATUS_CHANGED


def _events_sql(pg: bool, n: int) -> str:
    pairs = ", ".join(f"'{key}', {column}" for key, column in _PAYLOAD_KEYS)
    payload = (f"jsonb_build_object('event', {_EVENT}, {pairs})" if pg
               else f"json_object('event', {_EVENT}, {pairs})")
    mark = "%s" if pg else "?"
    where = "h.id = ANY(%s)" if pg else f"h.id IN ({', '.join(['?'] * n)})"
    return (f"INSERT INTO {_O.name} (event_type, entity_id, payload, idempotency_key, created_at, "
            f"state, attempts, next_attempt_at) "
            f"SELECT {_EVENT}, h.entity_id, {payload}, "
            f"{'gen_random_uuid()::text' if pg else _SQLITE_UUID}, {mark}, 'pending', 0, {mark} "
            f"FROM {_H.name} h JOIN {_T.name} e ON e.id = h.entity_id WHERE {where} ORDER BY h.id")


_OUTBOX_COLUMNS = ("event_type", "entity_id", "payload", "idempotency_key", "created_at", "state",
                   "attempts", "next_attempt_at")


def insert_outbox(session: Session, event_type: str, events: Sequence[tuple[int, dict[str, Any]]],
                  now: datetime) -> None:
    """Pending outbox rows for (entity id, payload) pairs, through the driver's executemany
    (the rows ``events.outbox_row`` describes, without SQLAlchemy's per-row parameter work)."""
    if not events:
        return
    conn = session.connection()
    pg = _pg(conn)
    as_json = json.dumps if pg else _binder(conn, _O.c.payload)
    now_db = _binder(conn, _O.c.created_at)(now)
    rows = [(event_type, entity_id, as_json(payload), str(uuid.uuid4()), now_db, "pending", 0,
             now_db) for entity_id, payload in events]
    sql = _insert_sql(conn, _O, _OUTBOX_COLUMNS)
    conn.exec_driver_sql(sql.replace("%s, %s, %s", "%s, %s, %s::jsonb", 1) if pg else sql, rows)


def event_payload(c: Change, history_id: int, actor: Actor, correlation_id: str) -> dict[str, Any]:
    if c.payload is not None and c.payload["change_id"] == history_id:
        return c.payload
    e = c.entity
    c.payload = {
        "event": event_type(c.meta["old_status"], c.new_status), "change_id": history_id, "entity_id": e.id, "type": e.type,
        "name": e.name, "old_status": c.meta["old_status"], "new_status": c.new_status,
        "action": c.action, "source": c.source, "actor": actor.name,
        "correlation_id": correlation_id, "parent_id": e.parent_id,
    }
    return c.payload

"""The one write path: single changes, bulk, sweeps, cascades, reverts and activity all end here.

Entities, history rows and outbox rows are written with a few set-based statements per call
(statements.py, one implementation per database), inside the caller's transaction, with the
entity counts per (type, status) they move (counts.py); the row version guards against lost
updates: ``UPDATE ... WHERE version = ?``, the same check the ORM makes for the few writes
that go through it (the model's ``version_id_col``).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import column, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from webapp.core.base import relations
from webapp.core.base.actor import Actor
from webapp.core.base.errors import ConcurrencyConflict, NotFound, storable_id
from webapp.core.base.events import ENTITY_UPDATED, STATUS_CHANGED, idempotency_key, outbox_table
from webapp.core.base.relations import chunked
from webapp.core.changes import counts
from webapp.core.changes.statements import PAYLOAD, SHAPES, Statements, statements_for
from webapp.core.fields import searchable
from webapp.core.workflows import sla_keeping
from webapp.models import Entity, StatusChange
from webapp.models.base import UTCDateTime

SOURCES = ("manual", "api", "bulk", "sweep", "cascade", "revert", "activity", "import", "timer",
           "approval", "migration")


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
    #: The new name, for a change that also renames (with new_data); None keeps the name.
    new_name: str | None = None
    #: The history row's metadata: data and name diffs, what was reverted, what caused it.
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Set when written: the status it replaced and how long the entity had been in it.
    old_status: str | None = None
    seconds_in_previous: float | None = None
    #: The event payload once written (built once for the outbox and the subscribers).
    payload: dict[str, Any] | None = field(default=None, repr=False, compare=False)


def lock_entities(session: Session, ids: Sequence[int]) -> dict[int, Entity]:
    """Load entities for writing: row locks on PostgreSQL (SQLite writers hold the DB lock)."""
    found: dict[int, Entity] = {}
    for chunk in chunked(sorted(i for i in ids if storable_id(i))):
        # FOR UPDATE locks rows on PostgreSQL (SQLite's dialect leaves it out), in id order:
        # two commands over overlapping entities then never wait for each other in a circle.
        stmt = (select(Entity).where(Entity.id.in_(chunk)).order_by(Entity.id).with_for_update()
                .execution_options(populate_existing=True))
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
    dialect = relations.dialect(session)
    make = _row_maker(dialect == "sqlite")
    stmt = select(*_RAW_COLUMNS).select_from(_T).where(relations.IDS_ARE[dialect], *where)
    if lock:  # in id order, as lock_entities
        stmt = stmt.order_by(Entity.id).with_for_update()
    for chunk in chunked(sorted(ids)):
        # Through the connection: plain rows, without the ORM's loading machinery; all at once
        # (iterating a result fetches row by row: a fifth of reading 100,000 rows).
        found.update((row[0], make(row))
                     for row in session.connection().execute(stmt, {"ids": list(chunk)}).all())
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
    sql = statements_for(session.connection())
    _update_entities(session, sql, changes, now)
    history_ids = _insert_history(sql, changes, actor, now, correlation_id)
    moved = [hid for c, hid in zip(changes, history_ids, strict=True)
             if c.old_status != c.new_status or c.new_data is not None]
    if moved:
        sql.insert_events(moved, sql.bind(_O.c.created_at)(now))
    sla_keeping.written(session, changes, now)  # SLA clocks follow statuses and goal fields
    searchable.add_vocabulary(session, [(c.entity.type, c.new_data) for c in changes
                                        if c.new_data is not None])
    # Last: the count rows are shared by every writer of a type, so they are locked for as
    # short a time as the transaction allows.
    sql.add_counts(counts.of_moves(changes))
    return history_ids


def move(session: Session, ids: Sequence[int], entity_type: str, old: str, new: str,
         action: str, source: str, reason: str | None, actor: Actor, now: datetime,
         correlation_id: str) -> list[int]:
    """Move the entities among ``ids`` still in ``old`` to ``new`` set-based, without reading
    them: history, entities, outbox and counts as ``write`` keeps them; the new history ids
    (one per entity moved).

    Only for moves nothing else follows: no checks, no cascades or derived statuses, no SLA
    clock, no data (``StateManager.move`` decides; the rest go through ``write``)."""
    sql = statements_for(session.connection())
    now_db = sql.bind(_H.c.created_at)(now)
    history = (action, reason, actor.name, source, correlation_id)
    history_ids: list[int] = []
    for chunk in chunked(sorted(ids)):
        history_ids += sql.move_rows(chunk, entity_type, old, new, history, now_db)
    if history_ids:
        sql.insert_events(history_ids, sql.bind(_O.c.created_at)(now))
        sql.add_counts({(entity_type, old): -len(history_ids),
                        (entity_type, new): len(history_ids)})
    return history_ids


_T = Entity.__table__
_H = StatusChange.__table__
_O = outbox_table()


def _update_entities(session: Session, sql: Statements, changes: Sequence[Change],
                     now: datetime) -> None:
    groups: dict[tuple[str, ...], list[Change]] = {}
    for c in changes:
        groups.setdefault(_shape(c), []).append(c)
    for shape in SHAPES:  # in one order every time
        group = groups.get(shape)
        if group and sql.update_entities(_update_rows(sql, group, now, shape), shape) \
                not in (len(group), -1):
            _raise_conflict(session, group)
    for c in changes:
        _refresh_in_memory(c, now)


def _shape(c: Change) -> tuple[str, ...]:
    """What the change SETs (statements.SHAPES): only the columns whose values change."""
    moved = ("status",) if c.new_status != c.entity.status else ()
    if c.new_data is None:
        return moved
    renamed = c.new_name is not None and c.new_name != c.entity.name
    return (*moved, "data", "name") if renamed else (*moved, "data")


def _update_rows(sql: Statements, group: Sequence[Change], now: datetime,
                 shape: tuple[str, ...]) -> list[tuple]:
    """The rows ``update_entities`` takes: updated_at, the shape's values, id, version."""
    as_json = sql.json(_T.c.data)
    now_db = sql.bind(_T.c.updated_at)(now)
    moved, with_data, renamed = "status" in shape, "data" in shape, "name" in shape
    rows = []
    for c in group:
        e = c.entity
        row = [now_db]
        if moved:
            row += (c.new_status, now_db)
        if with_data:
            row.append(as_json(c.new_data))
        if renamed:
            row.append(c.new_name)
        rows.append((*row, e.id, e.version))
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
    """Record what the change replaced, and make the caller's row show the row as written."""
    e = c.entity
    c.old_status = e.status
    c.seconds_in_previous = (now - e.status_changed_at).total_seconds()
    values = {"status": c.new_status, "version": e.version + 1, "updated_at": now}
    if c.new_status != e.status:
        values["status_changed_at"] = now
    if c.new_data is not None:
        values.update(data=c.new_data, name=c.new_name or e.name)
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


def _insert_history(sql: Statements, changes: Sequence[Change], actor: Actor, now: datetime,
                    correlation_id: str) -> list[int]:
    # Rows go in by entity id (the (entity_id, id) index then fills page by page); the ids
    # are handed back in the order of ``changes``.
    order = sorted(range(len(changes)), key=lambda i: changes[i].entity.id)
    as_json = sql.json(_H.c.metadata)
    now_db = sql.bind(_H.c.created_at)(now)
    empty = as_json({})  # most changes (every sweep's) have no metadata: serialised once
    rows = [(c.entity.id, c.old_status, c.new_status, c.action, c.reason, actor.name, c.source,
             correlation_id, as_json(c.metadata) if c.metadata else empty,
             c.seconds_in_previous, now_db) for c in (changes[i] for i in order)]
    ids = [0] * len(changes)
    for hid, i in zip(sql.insert_history(rows), order, strict=True):
        ids[i] = hid
    return ids


def event_type(old_status: str | None, new_status: str) -> str:
    return ENTITY_UPDATED if old_status == new_status else STATUS_CHANGED


def insert_outbox(session: Session, event_type: str, events: Sequence[tuple[int, dict[str, Any]]],
                  now: datetime) -> None:
    """Pending outbox rows for (entity id, payload) pairs, in one statement per chunk (the rows
    ``events.outbox_row`` describes)."""
    if not events:
        return
    sql = statements_for(session.connection())
    as_json = sql.json(_O.c.payload)
    now_db = sql.bind(_O.c.created_at)(now)
    sql.insert_outbox([(event_type, entity_id, as_json(payload), idempotency_key(), now_db,
                        "pending", 0, now_db) for entity_id, payload in events])


def event_payload(c: Change, history_id: int, actor: Actor, correlation_id: str) -> dict[str, Any]:
    """The in-process payload of a written change: the keys the outbox rows carry (PAYLOAD)."""
    if c.payload is not None and c.payload["change_id"] == history_id:
        return c.payload
    e = c.entity
    columns = {"h.id": history_id, "h.entity_id": e.id, "e.type": e.type, "e.name": e.name,
               "h.old_status": c.old_status, "h.new_status": c.new_status, "h.action": c.action,
               "h.source": c.source, "h.actor": actor.name, "h.correlation_id": correlation_id,
               "e.parent_id": e.parent_id}
    c.payload = {"event": event_type(c.old_status, c.new_status),
                 **{key: columns[column] for key, column in PAYLOAD}}
    return c.payload

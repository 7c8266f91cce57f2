"""SLA clocks kept in step with their entities, in the transaction that changes them
(``sla_clocks`` says how a clock moves; this module reads and writes the rows).

Every way an entity comes or changes reaches one function here:
- status and data changes: ``written``, called by ``changes/writer.write`` per batch (single
  changes, bulk, sweeps, cascades, reverts, imports' updates); a few statements per chunk;
- entities created through the ORM (``StateManager.create_entity``, CSV import rows): the
  mapper listener below, inside the same flush;
- set-based inserts (the demo seed): ``added``;
- a workflow saved with other SLAs or goals: ``recompute`` (``registry.save``): seconds
  counted stay, goals and due times move, clocks of new SLAs start now.
Types without SLAs cost one cached look-up per transaction and nothing else.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, event, func, insert, select
from sqlalchemy.orm import Session, object_session, scoped_session

from webapp.core.base.relations import chunked
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.sla_clocks import COLUMNS, Clock, begins, settled
from webapp.core.workflows.timing import Sla, parse_slas
from webapp.models import Entity, WorkflowDefinition
from webapp.models.base import UTCDateTime
from webapp.models.sla import SlaClock

_C = SlaClock.__table__


@dataclass(frozen=True)
class TypeSlas:
    """What the clocks of one type need from its workflow."""

    initial: str
    slas: tuple[Sla, ...]


# -- the SLAs in force: cached per process (checked against the workflows' fingerprint, as the
# registry does) and per transaction (one look-up for all of a command's writes) ------------

_FINGERPRINT = select(func.count(WorkflowDefinition.id),
                      func.coalesce(func.sum(WorkflowDefinition.version), 0))
_lock = threading.Lock()
#: database URL -> (fingerprint, the types with SLAs); by URL, as tests use many databases.
_cached: dict[str, tuple[tuple[int, int], dict[str, TypeSlas]]] = {}
_MEMO = "sla_definitions"


def definitions(session: Session, connection: Connection | None = None) -> dict[str, TypeSlas]:
    """The types that declare SLAs, as stored (read once per transaction)."""
    if isinstance(session, scoped_session):
        session = session()
    transaction = session.get_transaction()
    memo = session.info.get(_MEMO)
    if memo is not None and memo[0] is transaction:
        return memo[1]
    connection = connection or session.connection()
    fingerprint = tuple(connection.execute(_FINGERPRINT).one())
    database = str(connection.engine.url)
    with _lock:
        known = _cached.get(database)
        if known is None or known[0] != fingerprint:
            rows = connection.execute(select(WorkflowDefinition.entity_type,
                                             WorkflowDefinition.definition))
            known = _cached[database] = (fingerprint, {
                t: TypeSlas(doc["initial"], parse_slas(doc.get("slas")))
                for t, doc in rows if doc.get("slas")})
        types = known[1]
    session.info[_MEMO] = (transaction, types)
    return types


def _forget(session: Session) -> None:
    (session() if isinstance(session, scoped_session) else session).info.pop(_MEMO, None)


# -- writes ---------------------------------------------------------------------------------

class _Change:  # what writer.Change offers (typed loosely: workflows sits below changes)
    entity: Any
    old_status: str | None
    new_status: str
    new_data: dict[str, Any] | None


def written(session: Session, changes: Sequence[_Change], now: datetime) -> None:
    """The clocks of entities just written (their rows show the new status and data)."""
    types = definitions(session)
    if not types:
        return
    todo = [(c.entity.id, c.entity.type, c.entity.status, c.entity.data or {}) for c in changes
            if c.entity.type in types and (
                _moves_a_clock(types[c.entity.type], c.old_status, c.new_status) or (
                    c.new_data is not None and any(s.fields for s in types[c.entity.type].slas)))]
    if todo:
        _settle(session, types, todo, now)


def moves_a_clock(session: Session, entity_type: str, old: str, new: str) -> bool:
    """Whether moving an entity of ``entity_type`` from ``old`` to ``new`` changes a clock."""
    ts = definitions(session).get(entity_type)
    return ts is not None and _moves_a_clock(ts, old, new)


def _moves_a_clock(ts: TypeSlas, old: str | None, new: str) -> bool:
    """Whether a move from ``old`` to ``new`` can start, pause, resume or stop a clock: not
    between two states of the same kind (OPEN -> INPROGRESS: running either way)."""
    return old != new and any(_kind(sla, old) != _kind(sla, new) or _kind(sla, new) == "start"
                              for sla in ts.slas)


def _kind(sla: Sla, status: str | None) -> str:
    return ("start" if status in sla.start else "stop" if status in sla.stop
            else "pause" if status in sla.pause else "other")


def added(session: Session, rows: Sequence[Mapping[str, Any]], now: datetime,
          connection: Connection | None = None) -> None:
    """Clocks for entity rows just inserted (mappings with id, type, status, data,
    created_at; status_changed_at when they arrive in a later state, as the seed's do).

    A row that arrives in a later state is taken to have run since it was created, paused or
    stopped when it entered that state; marks already passed count as alerted (history, not
    news: a seeded million raise no flood of alerts)."""
    types = definitions(session, connection)
    new = [_new_row(types[r["type"]], sla, r, now) for r in rows if r["type"] in types
           for sla in types[r["type"]].slas]
    if new:
        (connection or session.connection()).execute(insert(_C), new)


def _new_row(ts: TypeSlas, sla: Sla, row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    status, data, created = row["status"], row.get("data") or {}, row["created_at"]
    clock = settled(sla, None, status, data, created, begins(sla, ts.initial, status))
    changed = row.get("status_changed_at") or created
    if changed > created and clock.state != "waiting" and status != ts.initial:
        clock = settled(sla, settled(sla, None, ts.initial, data, created, True), status, data,
                        changed)
    passed = now if changed < now else None
    return {"entity_id": row["id"], "name": sla.name, **clock.values(),
            "at_risk_sent_at": clock.risk_at if passed and clock.at_risk(passed) else None,
            "breached_sent_at": clock.breached_at if passed and clock.breached(passed) else None}


@event.listens_for(Entity, "after_insert")
def _inserted(_mapper: Any, connection: Connection, target: Entity) -> None:
    session = object_session(target)
    if session is not None:
        added(session, [{"id": target.id, "type": target.type, "status": target.status,
                         "data": target.data, "created_at": target.created_at}],
              target.created_at, connection)


def _settle(session: Session, types: Mapping[str, TypeSlas],
            items: Sequence[tuple[int, str, str, Mapping[str, Any]]], now: datetime) -> None:
    for chunk in chunked(items):
        found = _load(session, [item[0] for item in chunk])
        updates, inserts = [], []
        for entity_id, type_, status, data in chunk:
            ts = types[type_]
            for sla in ts.slas:
                row = found.get((entity_id, sla.name))
                if row is None:  # an entity from before its type had this SLA
                    inserts.append(_new_row(ts, sla, {"id": entity_id, "status": status,
                                                      "data": data, "created_at": now}, now))
                    continue
                clock_id, before = row  # the status, the goal or the SLA's states may have moved
                after = settled(sla, before, status, data, now)
                if after != before:
                    updates.append((*(getattr(after, n) for n in COLUMNS), clock_id))
        _write(session, updates, inserts)


#: The clocks read untyped and converted here (``_time``), and written through the driver's
#: executemany with each column's own bind conversion: SQLAlchemy's per-row result and
#: parameter processing cost more than the database work (bench/sla_bulk.py).
_SELECT = f"SELECT id, entity_id, name, {', '.join(COLUMNS)} FROM {_C.name} WHERE entity_id"
_TIMES = [i for i, name in enumerate(COLUMNS) if isinstance(_C.c[name].type, UTCDateTime)]


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):  # SQLite's naive UTC text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _load(session: Session, entity_ids: Sequence[int]) -> dict[tuple[int, str], tuple[int, Clock]]:
    """The clocks of these entities, locked for writing on PostgreSQL (in id order: two
    writers never wait for each other in a circle; SQLite's writer holds the database)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql, params = f"{_SELECT} = ANY(%s) ORDER BY id FOR UPDATE", (list(entity_ids),)
    else:
        sql, params = f"{_SELECT} IN ({', '.join('?' * len(entity_ids))})", tuple(entity_ids)
    found = {}
    for row in connection.exec_driver_sql(sql, params):
        values = list(row[3:])
        for i in _TIMES:
            values[i] = _time(values[i])
        found[row[1], row[2]] = (row[0], Clock(*values))
    return found


def _write(session: Session, updates: list[tuple[Any, ...]], inserts: list[dict[str, Any]]
           ) -> None:
    connection = session.connection()
    if updates:
        dialect = connection.dialect
        binds = [_C.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                 for name in COLUMNS]
        rows = [tuple(b(v) if b else v for b, v in zip(binds, row, strict=False)) + row[-1:]
                for row in sorted(updates, key=lambda row: row[-1])]  # in id order: locality
        # (PostgreSQL: psycopg pipelines executemany; an unnest of column lists, as
        # changes/statements.py does for entities, measured no faster here.)
        connection.exec_driver_sql(_UPDATE[dialect.paramstyle == "qmark"], rows)
    if inserts:
        connection.execute(insert(_C), inserts)


#: The update of a clock's kept columns by id: {qmark (SQLite): sql, else (psycopg): sql}.
_UPDATE = {qmark: f"UPDATE {_C.name} SET {', '.join(f'{n} = {m}' for n in COLUMNS)} "
                  f"WHERE id = {m}" for qmark, m in ((True, "?"), (False, "%s"))}


# -- a workflow saved -----------------------------------------------------------------------

def recompute(session: Session, wf: Workflow, now: datetime) -> None:
    """Bring the type's clocks in line with ``wf`` about to be saved: goals chosen again and
    due times moved (the seconds counted stay), clocks of removed SLAs dropped, clocks of new
    ones started for the entities already there. Nothing to do (no query) when the type's
    SLAs are unchanged."""
    stored = definitions(session).get(wf.entity_type)
    _forget(session)  # the saved workflow is read afresh by the next write
    if (stored.slas if stored else ()) == wf.slas:
        return
    names = [s.name for s in wf.slas]
    of_type = select(Entity.id).where(Entity.type == wf.entity_type)
    session.connection().execute(delete(_C).where(_C.c.entity_id.in_(of_type),
                                                  _C.c.name.not_in(names)))
    if not wf.slas:
        return
    types = {wf.entity_type: TypeSlas(wf.initial, wf.slas)}
    for batch in _entities(session, wf.entity_type):
        _settle(session, types, batch, now)


def start_existing(session: Session, now: datetime) -> None:
    """Clocks, started now, for every entity of a type with SLAs that has none (migration
    0015: entities from before the clocks were kept)."""
    types = definitions(session)
    for type_ in sorted(types):
        for batch in _entities(session, type_):
            _settle(session, {type_: types[type_]}, batch, now)


def _entities(session: Session, type_: str, size: int = 1000
              ) -> Iterable[list[tuple[int, str, str, Mapping[str, Any]]]]:
    after = 0
    while True:
        batch = list(session.connection().execute(
            select(Entity.id, Entity.status, Entity.data)
            .where(Entity.type == type_, Entity.id > after).order_by(Entity.id).limit(size)))
        if not batch:
            return
        yield [(r.id, type_, r.status, r.data or {}) for r in batch]
        after = batch[-1].id

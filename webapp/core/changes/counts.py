"""Entity counts per (type, status), kept exact by the write path in the writer's transaction.

Every way entities come, move or go adds its grouped deltas to ``entity_counts`` with one
upsert per statement batch (``Statements.add_counts``):

- status changes: ``writer.write`` (single changes, bulk, sweeps, cascades, reverts, activity);
- entities made or removed through the ORM (``StateManager.create_entity``, tests' objects):
  the mapper listeners below, which run inside the same flush;
- set-based inserts that bypass both (the demo seed, fast test factories): ``added``.

``drift`` recounts from the entities and compares; ``repair`` sets the counts right.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.orm import Session

from webapp.core.base.transactions import write_transaction
from webapp.core.changes.statements import statements_for
from webapp.models import Entity
from webapp.models.entity_count import EntityCount

Key = tuple[str, str]


class _Move(Protocol):
    entity: Any
    old_status: str | None
    new_status: str


def of_moves(changes: Iterable[_Move]) -> Counter[Key]:
    """The deltas of written changes: -1 where each entity was, +1 where it went."""
    deltas: Counter[Key] = Counter()
    for c in changes:
        if c.old_status != c.new_status:
            deltas[c.entity.type, c.old_status] -= 1
            deltas[c.entity.type, c.new_status] += 1
    return deltas


def added(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Count entity rows just inserted set-based (each a mapping with "type" and "status")."""
    statements_for(session.connection()).add_counts(
        Counter((row["type"], row["status"]) for row in rows))


# -- checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A (type, status) whose kept count differs from the entities."""

    type: str
    status: str
    kept: int
    actual: int


def drift(session: Session) -> list[Drift]:
    """Every kept count that differs from a recount, both read in one snapshot (on PostgreSQL a
    REPEATABLE READ transaction: changes committed meanwhile are in both or in neither)."""
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        return _compare(session)
    finally:
        session.rollback()


def repair(session: Session) -> list[Drift]:
    """Set every drifted count to the recount; returns what was wrong.

    On PostgreSQL the counts table is locked against writers first (they wait for the repair,
    a few hundred milliseconds at a million entities): a change committed before is in the
    recount, one committed after adds its delta to the repaired figure."""
    with write_transaction(session):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"LOCK TABLE {EntityCount.__tablename__} "
                                 f"IN SHARE ROW EXCLUSIVE MODE"))
        found = _compare(session)
        statements_for(session.connection()).add_counts(
            {(d.type, d.status): d.actual - d.kept for d in found})
    return found


def _compare(session: Session) -> list[Drift]:
    kept = {(t, s): n for t, s, n in session.execute(
        select(EntityCount.type, EntityCount.status, EntityCount.n))}
    actual = {(t, s): n for t, s, n in session.execute(
        select(Entity.type, Entity.status, func.count()).group_by(Entity.type, Entity.status))}
    return [Drift(t, s, kept.get((t, s), 0), actual.get((t, s), 0))
            for t, s in sorted(kept.keys() | actual.keys())
            if kept.get((t, s), 0) != actual.get((t, s), 0)]


# -- entities written through the ORM's unit of work ----------------------------------------


def _add(connection: Connection, deltas: Mapping[Key, int]) -> None:
    statements_for(connection).add_counts(deltas)


def _was(target: Entity) -> Key:
    """The (type, status) the row had in the database before this flush."""
    state = inspect(target)
    type_, status = (state.attrs[name].history for name in ("type", "status"))
    return ((type_.deleted or type_.unchanged or [target.type])[0],
            (status.deleted or status.unchanged or [target.status])[0])


@event.listens_for(Entity, "after_insert")
def _inserted(_mapper: Any, connection: Connection, target: Entity) -> None:
    _add(connection, {(target.type, target.status): 1})


@event.listens_for(Entity, "after_update")
def _updated(_mapper: Any, connection: Connection, target: Entity) -> None:
    before, after = _was(target), (target.type, target.status)
    if before != after:
        _add(connection, Counter({before: -1, after: 1}))


@event.listens_for(Entity, "after_delete")
def _deleted(_mapper: Any, connection: Connection, target: Entity) -> None:
    _add(connection, {_was(target): -1})

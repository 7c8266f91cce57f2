"""The one write path: single changes, bulk, sweeps, cascades, reverts and activity all end here.

Entities, history rows and outbox rows are written with a few set-based statements per call,
inside the caller's transaction; the row version guards against lost updates.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from webapp.core.actor import Actor
from webapp.core.errors import ConcurrencyConflict, NotFound
from webapp.core.events import STATUS_CHANGED, outbox_row, outbox_table
from webapp.core.relations import chunked
from webapp.models import Entity, StatusChange

SOURCES = ("manual", "api", "bulk", "sweep", "cascade", "revert", "activity", "import")


@dataclass
class Change:
    """A planned change of one entity (its current row is ``entity``)."""

    entity: Entity
    new_status: str
    action: str
    source: str
    reason: str | None = None
    #: New data when the change also rewrites data (updates and reverts); None leaves it.
    new_data: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def lock_entities(session: Session, ids: Sequence[int]) -> dict[int, Entity]:
    """Load entities for writing: row locks on PostgreSQL (SQLite writers hold the DB lock)."""
    found: dict[int, Entity] = {}
    pg = session.get_bind().dialect.name == "postgresql"
    for chunk in chunked(list(ids)):
        stmt = select(Entity).where(Entity.id.in_(chunk)).execution_options(populate_existing=True)
        if pg:
            stmt = stmt.with_for_update()
        found.update((e.id, e) for e in session.scalars(stmt))
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
_STATUS_UPDATE = _T.update().where(
    _T.c.id == bindparam("b_id"), _T.c.version == bindparam("b_version")
).values(
    status=bindparam("b_status"), version=_T.c.version + 1,
    status_changed_at=bindparam("b_changed_at"), updated_at=bindparam("b_now"),
)
_DATA_UPDATE = _STATUS_UPDATE.values(data=bindparam("b_data"), name=bindparam("b_name"))


def _update_entities(session: Session, changes: Sequence[Change], now: datetime) -> None:
    plain = [c for c in changes if c.new_data is None]
    with_data = [c for c in changes if c.new_data is not None]
    for stmt, group in ((_STATUS_UPDATE, plain), (_DATA_UPDATE, with_data)):
        if group:
            params = [_params(c, now) for c in group]
            result = session.connection().execute(stmt, params)
            if result.rowcount not in (len(group), -1):
                _raise_conflict(session, group)
    for c in changes:
        _refresh_in_memory(c, now)


def _params(c: Change, now: datetime) -> dict[str, Any]:
    e = c.entity
    moved = c.new_status != e.status
    params = {"b_id": e.id, "b_version": e.version, "b_status": c.new_status,
              "b_changed_at": now if moved else e.status_changed_at, "b_now": now}
    if c.new_data is not None:
        params["b_data"] = c.new_data
        params["b_name"] = c.meta.get("name_after", e.name)
    return params


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
    moved = c.new_status != e.status
    c.meta.setdefault("seconds_in_previous", (now - e.status_changed_at).total_seconds())
    c.meta["old_status"] = e.status
    set_committed_value(e, "status", c.new_status)
    set_committed_value(e, "version", e.version + 1)
    set_committed_value(e, "updated_at", now)
    if moved:
        set_committed_value(e, "status_changed_at", now)
    if c.new_data is not None:
        set_committed_value(e, "data", c.new_data)
        set_committed_value(e, "name", c.meta.get("name_after", e.name))


def _insert_history(session: Session, changes: Sequence[Change], actor: Actor, now: datetime,
                    correlation_id: str) -> list[int]:
    rows = [{
        "entity_id": c.entity.id, "old_status": c.meta["old_status"], "new_status": c.new_status,
        "action": c.action, "reason": c.reason, "actor": actor.name, "source": c.source,
        "correlation_id": correlation_id, "seconds_in_previous": c.meta["seconds_in_previous"],
        "meta": {k: v for k, v in c.meta.items()
                 if k not in ("old_status", "seconds_in_previous", "name_after")},
        "created_at": now,
    } for c in changes]
    result = session.execute(
        insert(StatusChange).returning(StatusChange.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _insert_events(session: Session, changes: Sequence[Change], history_ids: Sequence[int],
                   actor: Actor, now: datetime, correlation_id: str) -> None:
    rows = [outbox_row(STATUS_CHANGED, c.entity.id, event_payload(c, hid, actor, correlation_id), now)
            for c, hid in zip(changes, history_ids, strict=True)
            if c.meta["old_status"] != c.new_status or c.new_data is not None]
    if rows:
        session.connection().execute(insert(outbox_table()), rows)


def event_payload(c: Change, history_id: int, actor: Actor, correlation_id: str) -> dict[str, Any]:
    e = c.entity
    return {
        "event": STATUS_CHANGED, "change_id": history_id, "entity_id": e.id, "type": e.type,
        "name": e.name, "old_status": c.meta["old_status"], "new_status": c.new_status,
        "action": c.action, "source": c.source, "actor": actor.name,
        "correlation_id": correlation_id, "parent_id": e.parent_id,
    }

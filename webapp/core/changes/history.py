"""History and time travel: the timeline, the state at any moment, and reverts."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, InvalidTransition, NotFound, storable_id
from webapp.core.base.words import label
from webapp.core.changes.entities import check_data, data_diff, get
from webapp.core.changes.writer import Change
from webapp.core.fields.secrets import Keyring
from webapp.core.fields.validation import Lookups
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity, StatusChange

PAGE_MAX = 500


def to_dict(c: StatusChange) -> dict[str, Any]:
    """The contract's history item (CONTRACT.md §6)."""
    return {
        "id": c.id, "entity_id": c.entity_id, "old_status": c.old_status,
        "new_status": c.new_status, "action": c.action, "reason": c.reason, "actor": c.actor,
        "source": c.source, "correlation_id": c.correlation_id, "metadata": c.meta or {},
        "created_at": c.created_at.isoformat(),
    }


def page(session: Session, entity_id: int, limit: int = 50, before_id: int | None = None
         ) -> tuple[list[StatusChange], int | None]:
    """Newest first, keyset-paginated by id; returns the rows and the next cursor (or None)."""
    get(session, entity_id)
    stmt = select(StatusChange).where(StatusChange.entity_id == entity_id)
    if before_id is not None:
        stmt = stmt.where(StatusChange.id < before_id)
    rows = list(session.scalars(stmt.order_by(StatusChange.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def state_at(session: Session, entity_id: int, at: datetime) -> dict[str, Any]:
    """Status and data as they were at ``at``, read from the append-only history."""
    entity = get(session, entity_id)
    at = _aware(at)
    if at < entity.created_at:
        raise InvalidInput(f"Entity {entity_id} did not exist yet at {at.isoformat()}.",
                           {"at": f"It was created at {entity.created_at.isoformat()}."})
    rows = session.scalars(select(StatusChange).where(StatusChange.entity_id == entity_id)
                           .order_by(StatusChange.id)).all()
    status, data, name = _replay(rows, at)
    return {"status": status or entity.status, "data": data, "name": name or entity.name,
            "as_of": at.isoformat()}


def _aware(at: Any) -> datetime:
    """``at`` as an aware time; a time without a zone is taken as UTC, as stored."""
    if not isinstance(at, datetime):
        raise InvalidInput("at must be a time.", {"at": "Use an ISO 8601 time."})
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _replay(rows: list[StatusChange], at: datetime) -> tuple[str | None, dict[str, Any], str | None]:
    status, data, name = None, {}, None
    for i, row in enumerate(rows):
        if row.created_at > at:
            if name is None:  # not renamed yet at ``at``: the name the first later rename replaced
                name = next((r.meta["name"]["before"] for r in rows[i:] if (r.meta or {}).get("name")),
                            None)
            break
        status = row.new_status
        change = (row.meta or {}).get("data")
        if change:
            for key in change.get("before", {}):
                data.pop(key, None)
            data.update(change.get("after", {}))
        if (row.meta or {}).get("name"):
            name = row.meta["name"]["after"]
    return status, data, name


def plan_revert(session: Session, wf: Workflow, entity: Entity, change_id: Any, at: datetime | None,
                reason: str | None, force: bool, actor: Actor, keyring: Keyring
                ) -> Change:
    """The change that undoes ``change_id`` or returns to the state at ``at``.

    The data it restores is checked against the type's fields as they are now, like any
    write: a value the fields no longer allow is refused (400 naming it), even when an admin
    forces the revert. ``force`` overrides the workflow's way back (a decision about process),
    not what data may hold; fix the value with an edit, then revert."""
    if not reason or not str(reason).strip():
        raise InvalidInput("Say why you revert.", {"reason": "A reason is required for a revert."})
    if force and not actor.may("force"):
        from webapp.core.base.errors import PermissionDenied

        raise PermissionDenied("Only an admin may force a revert the workflow forbids.")
    if (change_id is None) == (at is None):
        raise InvalidInput("Give either change_id or at.", {"change_id": "One of change_id or at."})
    if change_id is not None:
        change = _undo_change(session, entity, change_id, reason)
    else:
        change = _back_to(session, entity, _aware(at), reason)
    return _checked(session, wf, change, keyring)


def _checked(session: Session, wf: Workflow, change: Change, keyring: Keyring | None) -> Change:
    """The revert with its restored data as stored, or InvalidInput naming the fields."""
    e = change.entity
    if change.new_data is None or change.new_data == (e.data or {}) or not wf.fields:
        return change  # the data stays as it is (a rename or a status alone)
    try:
        stored = check_data(wf, change.new_data, lookups=Lookups(session, wf.entity_type),
                            creating=False, before=e.data or {}, entity_id=e.id, keyring=keyring)
    except InvalidInput as err:
        raise InvalidInput(f"The restored data does not fit the {label(wf.entity_type)}'s "
                           f"fields as they are now: {err.message}", err.fields) from err
    if stored != change.new_data:
        change.new_data = stored
        change.metadata["data"] = data_diff(e.data or {}, stored)
    return change


def _undo_change(session: Session, entity: Entity, change_id: Any, reason: str) -> Change:
    if isinstance(change_id, bool) or not isinstance(change_id, int):
        raise InvalidInput("change_id must be a history id.", {"change_id": "Send a whole number."})
    row = session.get(StatusChange, change_id) if storable_id(change_id) else None
    if row is None or row.entity_id != entity.id:
        raise NotFound(f"Entity {entity.id} has no change {change_id}.")
    if row.old_status is None:
        raise InvalidTransition("The creation of an entity cannot be reverted.")
    later = session.scalar(select(StatusChange.id).where(
        StatusChange.entity_id == entity.id, StatusChange.id > row.id,
        StatusChange.new_status != StatusChange.old_status).limit(1))
    if row.new_status != row.old_status and (later is not None or entity.status != row.new_status):
        raise InvalidTransition(
            f"The status changed again after change {row.id} (now {entity.status}); revert the "
            f"later change first, or revert to a time.")
    meta = row.meta or {}
    data = undo_data(entity.data or {}, meta.get("data"))
    renamed = meta.get("name") or {}
    name = renamed["before"] if renamed and entity.name == renamed["after"] else entity.name
    # A data-only change is undone in the data alone: the status it was made in may have moved on.
    status = row.old_status if row.new_status != row.old_status else entity.status
    if status == entity.status and data == (entity.data or {}) and name == entity.name:
        raise InvalidInput(f"Nothing of change {row.id} is left to revert: every value it set "
                           f"has been changed since.", {"change_id": "Nothing would change."})
    return _revert(entity, status, data, name, reason, {"reverted_change": row.id})


def undo_data(current: dict[str, Any], change: dict[str, Any] | None) -> dict[str, Any]:
    """Put back the values a change replaced, but only where nobody changed them since."""
    if not change:
        return dict(current)
    data = dict(current)
    before, after = change.get("before", {}), change.get("after", {})
    for key in before.keys() | after.keys():
        if data.get(key) != after.get(key):
            continue  # changed since: not ours to overwrite
        if key in before:
            data[key] = before[key]
        else:
            data.pop(key, None)
    return data


def _back_to(session: Session, entity: Entity, at: datetime, reason: str) -> Change:
    past = state_at(session, entity.id, at)
    if (past["status"], past["data"], past["name"]) == (entity.status, entity.data or {}, entity.name):
        raise InvalidInput(f"Entity {entity.id} already looks as it did at {at.isoformat()}.",
                           {"at": "Nothing would change."})
    return _revert(entity, past["status"], past["data"], past["name"], reason,
                   {"reverted_to": at.isoformat()})


def _revert(entity: Entity, status: str, data: dict[str, Any], name: str, reason: str,
            meta: dict[str, Any]) -> Change:
    """The revert change; data and name are rewritten only where they differ from now."""
    current = entity.data or {}
    if data != current:
        meta["data"] = data_diff(current, data)
    if name != entity.name:
        meta["name"] = {"before": entity.name, "after": name}
    rewrites = data != current or name != entity.name
    return Change(entity, status, "revert", "revert", reason, new_data=data if rewrites else None,
                  new_name=name if rewrites else None, metadata=meta)

"""Entity commands' details: input checks, creation, data patches, activity."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from webapp.core.base.actor import Actor
from webapp.core.base.errors import ConcurrencyConflict, InvalidInput, NotFound, storable_id
from webapp.core.base.events import ENTITY_CREATED, outbox_row, outbox_table
from webapp.core.changes.writer import Change
from webapp.core.fields import validation
from webapp.core.fields.secrets import Keyring
from webapp.core.fields.validation import Lookups
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.registry import WorkflowRegistry
from webapp.models import Entity, StatusChange
from webapp.models.entity import NAME_MAX

DATA_MAX_BYTES = 64 * 1024
SOURCES_FOR_CREATE = ("api", "manual", "import")


def get(session: Session, entity_id: Any) -> Entity:
    if not storable_id(entity_id):
        raise NotFound(f"No entity with id {entity_id!r}.")
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(f"No entity with id {entity_id}.")
    return entity


def to_dict(e: Entity) -> dict[str, Any]:
    """The contract's entity shape (CONTRACT.md §6)."""
    return {
        "id": e.id, "type": e.type, "name": e.name, "status": e.status, "version": e.version,
        "data": e.data or {}, "parent_id": e.parent_id,
        "last_activity_at": _iso(e.last_activity_at), "status_changed_at": _iso(e.status_changed_at),
        "created_at": _iso(e.created_at), "updated_at": _iso(e.updated_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def snapshot(e: Entity) -> dict[str, Any]:
    return {"name": e.name, "status": e.status, "data": e.data or {}, "parent_id": e.parent_id}


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("A name is required.", {"name": "Give the entity a name."})
    if len(name.strip()) > NAME_MAX:
        raise InvalidInput("Name too long.", {"name": f"Use at most {NAME_MAX} characters."})
    if "\x00" in name:  # PostgreSQL text cannot hold it
        raise InvalidInput("Invalid name.", {"name": "Remove the NUL character."})
    return name.strip()


def check_data(wf: Workflow, data: Any, *, lookups: Lookups, creating: bool,
               before: dict[str, Any] | None = None, entity_id: int | None = None,
               keyring: Keyring | None = None) -> dict[str, Any]:
    """``data`` as stored: checked against the type's declared fields when it has any
    (``fields.validation``: one sentence per bad value), else free-form plain JSON; either
    way small enough to store and free of what PostgreSQL cannot hold.

    ``before`` is the entity's stored data on an update. With a ``keyring``, sensitive values
    are stored sealed (``fields.secrets``): sealed values in ``data`` (those a merge patch left
    alone) and in ``before`` are opened for the checks, and the result is sealed again,
    keeping the stored token of every value that did not change."""
    [(stored, error)] = check_data_many(wf, [(data, before, entity_id)], lookups=lookups,
                                        creating=creating, keyring=keyring)
    if error is not None:
        raise error
    return stored


def check_data_many(wf: Workflow, items: Sequence[tuple[Any, dict[str, Any] | None, int | None]],
                    *, lookups: Lookups, creating: bool, keyring: Keyring | None = None
                    ) -> list[tuple[Any, InvalidInput | None]]:
    """``check_data`` for many ``(data, before, entity_id)`` of one type (a bulk chunk), with
    the same answers: (data as stored, None) or (data, the InvalidInput it would raise). The
    values are checked as one batch (``validation.check_many``), and each sealed token is
    opened once."""
    results: list[tuple[Any, InvalidInput | None] | None] = [
        None if isinstance(data, dict) else (data, InvalidInput(
            "data must be a JSON object.", {"data": "Send an object, e.g. {}."}))
        for data, _before, _id in items]
    todo = [i for i, done in enumerate(results) if done is None]
    if not wf.fields:
        return [done or _storable(items[i][0]) for i, done in enumerate(results)]
    if keyring is not None and lookups.keyring is None:
        lookups.keyring = keyring  # sensitive unique values are looked up by blind index
    opened: dict[str, Any] = {}
    checked = validation.check_many(wf.fields, [
        (_plain(keyring, wf, items[i][0], opened), _plain(keyring, wf, items[i][1], opened),
         items[i][2]) for i in todo], lookups=lookups, creating=creating)
    sealing = keyring is not None and validation.compiled(wf.fields).seals
    for i, (stored, errors) in zip(todo, checked, strict=True):
        if errors:
            results[i] = (stored, InvalidInput(validation.summary(errors), errors))
        else:
            results[i] = _storable(keyring.seal(wf.fields, stored, items[i][1], opened)  # type: ignore[union-attr]
                                   if sealing else stored)
    return results  # type: ignore[return-value]


def _plain(keyring: Keyring | None, wf: Workflow, data: Any, opened: dict[str, Any]) -> Any:
    """``data`` with its sealed values opened, for the checks (as it is when none is sealed)."""
    if keyring is None or not data:
        return data
    return keyring.unseal(wf.fields, data, opened)


def _storable(data: Any) -> tuple[Any, InvalidInput | None]:
    try:
        _check_storable(data)
    except InvalidInput as err:
        return data, err
    return data, None


#: Strict JSON (no NaN), as UTF-8 text: made once (``json.dumps`` with options builds one
#: per call, a third of its cost for an entity's data).
_STRICT_JSON = json.JSONEncoder(allow_nan=False, ensure_ascii=False)


def _check_storable(data: dict[str, Any]) -> None:
    try:  # what the database will store: strict JSON (no NaN, no dates, no sets) in UTF-8
        encoded = _STRICT_JSON.encode(data)
        size = len(encoded.encode("utf-8"))  # a lone surrogate has no UTF-8: refused here
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput("data must be plain JSON.", {"data": str(exc)[:200]}) from exc
    if size > DATA_MAX_BYTES:
        raise InvalidInput("data is too large.", {"data": f"Keep it under {DATA_MAX_BYTES // 1024} KB."})
    if "\\u0000" in encoded and _has_nul(data):  # PostgreSQL jsonb cannot hold it
        raise InvalidInput("data must not contain NUL characters.", {"data": "Remove \\u0000."})


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_nul(v) for v in value)


def create(session: Session, registry: WorkflowRegistry, actor: Actor, now: datetime, cid: str,
           source: str, fields: dict[str, Any], keyring: Keyring
           ) -> tuple[Entity, list[dict[str, Any]]]:
    unknown = set(fields) - {"type", "name", "status", "data", "parent_id", "last_activity_at"}
    if unknown:
        raise InvalidInput("Unknown fields.", {f: "not a field of an entity" for f in sorted(unknown)})
    if not isinstance(fields.get("type"), str):
        raise InvalidInput("A type is required.", {"type": "Say which entity type to create."})
    wf = registry.get(session, fields["type"])
    status, imported = _initial_status(wf, fields.get("status"))
    activity = fields.get("last_activity_at")
    if activity is not None and not isinstance(activity, datetime):
        raise InvalidInput("Invalid last_activity_at.", {"last_activity_at": "Use an ISO 8601 time."})
    entity = Entity(
        type=wf.entity_type, name=check_name(fields.get("name")), status=status,
        data=check_data(wf, fields.get("data") or {}, lookups=Lookups(session, wf.entity_type),
                        creating=True, keyring=keyring),
        parent_id=_check_parent(session, wf, fields.get("parent_id")),
        last_activity_at=activity or now, status_changed_at=now, created_at=now, updated_at=now,
    )
    session.add(entity)
    session.flush()
    source = "import" if imported or activity is not None else source
    _record_creation(session, entity, actor, now, cid, source)
    payload = {"event": ENTITY_CREATED, "entity_id": entity.id, "type": entity.type,
               "name": entity.name, "new_status": status, "source": source, "actor": actor.name,
               "correlation_id": cid, "parent_id": entity.parent_id}
    session.connection().execute(insert(outbox_table()), [outbox_row(ENTITY_CREATED, entity.id, payload, now)])
    return entity, [payload]


def _initial_status(wf: Workflow, status: Any) -> tuple[str, bool]:
    if status is None:
        return wf.initial, False
    state = wf.state(status) if isinstance(status, str) else None
    if state is None:
        raise InvalidInput(f"{wf.label} has no state {status!r}.",
                           {"status": f"Choose one of: {', '.join(wf.states)}."})
    return state.name, True


def _check_parent(session: Session, wf: Workflow, parent_id: Any) -> int | None:
    if parent_id is None:
        return None
    if wf.parent_type is None:
        raise InvalidInput(f"A {wf.label.lower()} has no parent.", {"parent_id": "Leave it empty."})
    if isinstance(parent_id, bool) or not isinstance(parent_id, int):
        raise InvalidInput("parent_id must be an entity id.", {"parent_id": "Send a whole number."})
    parent = session.get(Entity, parent_id) if storable_id(parent_id) else None
    if parent is None or parent.type != wf.parent_type:
        raise InvalidInput(f"The parent of a {wf.label.lower()} must be a {wf.parent_type}.",
                           {"parent_id": f"No {wf.parent_type} with id {parent_id}."})
    return parent_id


def _record_creation(session: Session, e: Entity, actor: Actor, now: datetime, cid: str,
                     source: str) -> None:
    session.execute(insert(StatusChange), [{
        "entity_id": e.id, "old_status": None, "new_status": e.status, "action": "create",
        "reason": None, "actor": actor.name, "source": source, "correlation_id": cid,
        "meta": {"data": {"before": {}, "after": e.data or {}}} if e.data else {},
        "seconds_in_previous": None, "created_at": now}])


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: null removes a key, objects merge, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:  # most values replace: no call for them (a bulk update merges 10,000 patches)
            result[key] = value
    return result


def plan_update(wf: Workflow, e: Entity, version: Any, name: Any, data: Any, source: str,
                keyring: Keyring) -> Change | None:
    """The change a PATCH makes (None when it changes nothing). ``e`` is attached to the
    command's session, which the declared fields' lookups use."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput("version is required.", {"version": "Send the version you read."})
    if version != e.version:
        raise ConcurrencyConflict(f"{wf.label} {e.id} was changed since you read it.", version, e.version)
    new_name = check_name(name) if name is not None else e.name
    new_data = dict(e.data or {})
    if data is not None:  # the whole result is checked: a patch may leave a required field empty
        new_data = check_data(wf, merge_patch(new_data, data),
                              lookups=Lookups(object_session(e), wf.entity_type), creating=False,
                              before=e.data or {}, entity_id=e.id, keyring=keyring)
    if new_name == e.name and new_data == (e.data or {}):
        return None
    renamed = {"name": {"before": e.name, "after": new_name}} if new_name != e.name else {}
    return Change(e, e.status, "update", source, None, new_data=new_data, new_name=new_name,
                  metadata={"data": data_diff(e.data or {}, new_data), **renamed})


def data_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = [k for k in before.keys() | after.keys() if before.get(k) != after.get(k)]
    return {"before": {k: before[k] for k in keys if k in before},
            "after": {k: after[k] for k in keys if k in after}}


def touch(session: Session, wf: Workflow, e: Entity, now: datetime, note: str | None) -> list[Change]:
    """Record activity now; return the reactivation change if the entity was swept inactive."""
    session.execute(update(Entity).where(Entity.id == e.id).values(
        last_activity_at=now, warned_at=None, updated_at=now, version=Entity.version + 1
    ).execution_options(synchronize_session=False))
    for key, value in (("last_activity_at", now), ("warned_at", None), ("version", e.version + 1)):
        set_committed_value(e, key, value)
    sweep = wf.sweep
    if sweep and sweep.reactivate_to and e.status == sweep.inactive_state:
        return [Change(e, sweep.reactivate_to, "reactivate", "activity", note or "activity recorded")]
    return []

"""Changing runtime settings: validate, store only overrides, record history, audit."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound, storable_id
from webapp.core.base.transactions import write_transaction
from webapp.core.settings.store import SettingsStore
from webapp.models import SettingChange

HISTORY_MAX = 200


def describe(session: Session, store: SettingsStore) -> dict[str, dict[str, Any]]:
    """Every setting as the contract shows it: {key: {value, default, description, ...}}."""
    values, registry = store.all(session), store.registry(session)
    return {key: {"value": values[key], "default": s.default, "description": s.description,
                  "group": s.group, "unit": s.unit, "type": s.type.__name__,
                  "minimum": s.minimum, "maximum": s.maximum}
            for key, s in registry.items() if key in values}


def update(session: Session, store: SettingsStore, actor: Actor, values: Any,
           now: datetime) -> dict[str, tuple[Any, Any]]:
    """Validate and save ``{key: value}``; returns {key: (old, new)} for what changed."""
    if not isinstance(values, dict) or not values:
        raise InvalidInput("Send the settings to change as a JSON object.",
                           {"body": "For example {\"builder_grace_period\": 60}."})
    with write_transaction(session):
        coerced = store.validate(session, values)
        changed = store.apply(session, coerced, actor.name, now)
        if changed:
            audit.write(session, [audit.AuditRecord(
                actor, "settings.update", "settings", ",".join(sorted(changed))[:64],
                before={k: old for k, (old, _) in changed.items()},
                after={k: new for k, (_, new) in changed.items()})], now)
    store.invalidate()
    return changed


def revert(session: Session, store: SettingsStore, actor: Actor, change_id: int,
           now: datetime) -> dict[str, tuple[Any, Any]]:
    """Put a setting back to the value it had before one recorded change."""
    row = session.get(SettingChange, change_id) if storable_id(change_id) else None
    if row is None:
        raise NotFound(f"No setting change {change_id}.")
    setting = store.registry(session).get(row.key)
    if setting is None:
        raise InvalidInput(f"Setting {row.key!r} no longer exists.", {"key": "Unknown setting."})
    old = row.old if row.old is not None else setting.default
    return update(session, store, actor, {row.key: old}, now)


def history(session: Session, key: str | None = None, limit: int = HISTORY_MAX) -> list[SettingChange]:
    stmt = select(SettingChange).order_by(SettingChange.id.desc()).limit(limit)
    if key:
        stmt = stmt.where(SettingChange.key == key)
    return list(session.scalars(stmt))


def history_item(row: SettingChange) -> dict[str, Any]:
    return {"id": row.id, "key": row.key, "old": row.old, "new": row.new, "actor": row.actor,
            "created_at": row.created_at.isoformat()}

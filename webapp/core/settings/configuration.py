"""Changing runtime settings: validate, store only overrides, record history, audit; put
one recorded change back (revert); what the settings were at two times (diff)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound, RuleViolation, storable_id
from webapp.core.base.transactions import write_transaction
from webapp.core.settings.store import SettingsStore
from webapp.models import SettingChange

HISTORY_MAX = 200
Changed = dict[str, tuple[Any, Any]]


def describe(session: Session, store: SettingsStore) -> dict[str, dict[str, Any]]:
    """Every setting as the contract shows it: {key: {value, default, description, ...}}."""
    values, registry = store.all(session), store.registry(session)
    return {key: {"value": values[key], "default": s.default, "description": s.description,
                  "group": s.group, "unit": s.unit, "type": s.type.__name__,
                  "minimum": s.minimum, "maximum": s.maximum}
            for key, s in registry.items() if key in values}


def check_body(values: Any) -> dict[str, Any]:
    """A non-empty JSON object of settings to change (InvalidInput otherwise)."""
    if not isinstance(values, dict) or not values:
        raise InvalidInput("Send the settings to change as a JSON object.",
                           {"body": "For example {\"builder_grace_period\": 60}."})
    return values


def update(session: Session, store: SettingsStore, actor: Actor, values: Any,
           now: datetime) -> Changed:
    """Validate and save ``{key: value}``; returns {key: (old, new)} for what changed."""
    check_body(values)
    with write_transaction(session):
        changed = record(session, store, actor, store.validate(session, values), now)
    store.invalidate()
    return changed


def record(session: Session, store: SettingsStore, actor: Actor, coerced: dict[str, Any],
           now: datetime, event_type: str = "settings.update", **extra: Any) -> Changed:
    """Store validated values with their history and one audit row, inside the caller's
    transaction (every way of changing settings ends here)."""
    changed = store.apply(session, coerced, actor.name, now)
    if changed:
        audit.write(session, [audit.AuditRecord(
            actor, event_type, "settings", ",".join(sorted(changed))[:64],
            before={k: old for k, (old, _) in changed.items()},
            after={k: new for k, (_, new) in changed.items()}, extra=extra)], now)
    return changed


def revert(session: Session, store: SettingsStore, actor: Actor, change_id: Any,
           now: datetime) -> Changed:
    """Put a setting back to the value it had before one recorded change, as a new change
    (history and audit); RuleViolation (422) when that value is no longer allowed."""
    if not storable_id(change_id):
        raise InvalidInput("history_id must be the id of a setting change.",
                           {"history_id": "Send a history id from GET /config/history."})
    row = session.get(SettingChange, change_id)
    if row is None:
        raise NotFound(f"No setting change {change_id}.")
    setting = store.registry(session).get(row.key)
    if setting is None:
        raise RuleViolation(f"The setting {row.key!r} no longer exists, so change {change_id} "
                            f"cannot be reverted.")
    old = row.old if row.old is not None else setting.default
    with write_transaction(session):
        try:
            coerced = store.validate(session, {row.key: old})
        except InvalidInput as err:
            why = err.fields.get(row.key) or " ".join(err.fields.values()) or err.message
            raise RuleViolation(f"{setting.name.capitalize()} cannot go back to {old}: "
                                f"it {why}.") from None
        changed = record(session, store, actor, coerced, now, "settings.revert",
                         reverted_change=row.id)
    store.invalidate()
    return changed


def history(session: Session, key: str | None = None, limit: int = HISTORY_MAX) -> list[SettingChange]:
    stmt = select(SettingChange).order_by(SettingChange.id.desc()).limit(limit)
    if key:
        stmt = stmt.where(SettingChange.key == key)
    return list(session.scalars(stmt))


def history_item(row: SettingChange) -> dict[str, Any]:
    return {"id": row.id, "key": row.key, "old": row.old, "new": row.new, "actor": row.actor,
            "created_at": row.created_at.isoformat()}


# -- settings at a time, and between two times ------------------------------------------------

def values_at(session: Session, store: SettingsStore, at: datetime) -> dict[str, Any]:
    """Every setting's value at ``at``, read back from the history: today's value, unwound
    through every change made after ``at`` (newest first, so the earliest one's ``old`` stays)."""
    values = store.all(session)
    later = select(SettingChange.key, SettingChange.old).where(
        SettingChange.created_at > at).order_by(SettingChange.id.desc())
    for key, old in session.execute(later):
        if key in values:  # a setting no workflow declares any more is not shown
            values[key] = old
    return values


def diff(session: Session, store: SettingsStore, start: datetime, end: datetime
         ) -> list[dict[str, Any]]:
    """Each setting at ``start`` and at ``end``: [{key, label, group, unit, from, to, changed}],
    in the settings page's order."""
    if end < start:
        raise InvalidInput("The second time must not be before the first.",
                           {"to": "Choose a time after 'from'."})
    before, after = values_at(session, store, start), values_at(session, store, end)
    return [{"key": key, "label": s.name, "group": s.group, "unit": s.unit,
             "from": before[key], "to": after[key], "changed": before[key] != after[key]}
            for key, s in store.registry(session).items() if key in before]

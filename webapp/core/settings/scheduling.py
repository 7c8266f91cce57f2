"""Setting changes scheduled for a later time (CONTRACT §10).

Scheduling validates the change exactly as saving it now would (types, bounds, the checks
across settings) and stores it ``pending``. When it is due, the workers apply it through the
same path as a person's save (history, audit), validating again against the settings as they
are then: a change that is no longer valid ends ``failed`` with the reason, and a
notification says so. Each one is claimed by ``UPDATE … WHERE status = 'pending'`` inside
the transaction that applies it, so it is applied exactly once whichever processes race for
it; cancelling claims it the same way, so a cancelled change never applies.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base import lease
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound, StatekeeperError, storable_id
from webapp.core.base.events import outbox_row, outbox_table
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import label
from webapp.core.settings.configuration import check_body, record
from webapp.core.settings.store import SettingsStore
from webapp.models import ScheduledSettingChange
from webapp.models.scheduled_setting import SCHEDULED_SETTING_STATUSES

#: How far ahead a change may be scheduled.
MAX_AHEAD = timedelta(days=366)
#: Due changes one tick applies (the next tick takes the rest).
BATCH = 100
#: Held while applying, so one process applies the due changes, in order.
LEASE = "scheduled-settings"
LEASE_TTL = timedelta(minutes=2)
SCHEDULED_SETTING_FAILED = "ScheduledSettingFailed"
_S = ScheduledSettingChange


class NotPending(StatekeeperError):
    """The scheduled change was applied, failed or cancelled already."""

    status = 409
    code = "conflict"


def check_time(effective_at: datetime, now: datetime, field: str = "effective_at") -> datetime:
    """A time in the future, at most MAX_AHEAD away (InvalidInput naming ``field`` otherwise)."""
    if effective_at <= now:
        raise InvalidInput(f"{field} must be in the future.",
                           {field: f"Choose a time after {now:%Y-%m-%d %H:%M} UTC."})
    if effective_at > now + MAX_AHEAD:
        raise InvalidInput(f"{field} is too far ahead.",
                           {field: f"Schedule at most {MAX_AHEAD.days} days ahead."})
    return effective_at


def schedule(session: Session, store: SettingsStore, actor: Actor, values: Any,
             effective_at: datetime, now: datetime, comment: str | None = None
             ) -> ScheduledSettingChange:
    """Validate ``{key: value}`` as an immediate change would be, and keep it for later."""
    check_body(values)
    check_time(effective_at, now)
    with write_transaction(session):
        coerced = store.validate(session, values)
        row = _S(values=coerced, effective_at=effective_at, status="pending", actor=actor.name,
                 actor_role=actor.role, comment=comment, created_at=now)
        session.add(row)
        session.flush()
        audit.write(session, [audit.AuditRecord(
            actor, "settings.schedule", "scheduled_setting", str(row.id), after=coerced,
            message=f"for {effective_at:%Y-%m-%d %H:%M} UTC: {describe_values(coerced)}")], now)
    return row


def cancel(session: Session, actor: Actor, scheduled_id: Any, now: datetime
           ) -> ScheduledSettingChange:
    """Cancel a pending change (NotFound, or NotPending once it is applied, failed or
    cancelled)."""
    with write_transaction(session):
        claimed = _claim(session, scheduled_id, status="cancelled", finished_at=now,
                         cancelled_by=actor.name)
        row = get(session, scheduled_id)
        if not claimed:
            raise NotPending(f"Scheduled change {row.id} is {row.status} already; only a "
                             f"pending change can be cancelled.")
        audit.write(session, [audit.AuditRecord(
            actor, "settings.schedule_cancel", "scheduled_setting", str(row.id),
            before=row.values, message=describe_values(row.values))], now)
    return row


def get(session: Session, scheduled_id: Any) -> ScheduledSettingChange:
    row = (session.get(_S, scheduled_id, populate_existing=True)
           if storable_id(scheduled_id) else None)
    if row is None:
        raise NotFound(f"No scheduled setting change {scheduled_id}.")
    return row


def listed(session: Session, status: str | None = "pending", limit: int = 200
           ) -> list[ScheduledSettingChange]:
    """Scheduled changes in the order they take effect; ``status`` None for every status."""
    if status is not None and status not in SCHEDULED_SETTING_STATUSES:
        raise InvalidInput(f"Unknown status {status!r}.",
                           {"status": f"One of: {', '.join(SCHEDULED_SETTING_STATUSES)}, all."})
    stmt = select(_S).order_by(_S.effective_at, _S.id).limit(limit)
    if status is not None:
        stmt = stmt.where(_S.status == status)
    return list(session.scalars(stmt))


def recently_failed(session: Session, limit: int = 5) -> list[ScheduledSettingChange]:
    """The newest changes that could not be applied (the settings page shows why)."""
    return list(session.scalars(select(_S).where(_S.status == "failed")
                                .order_by(_S.finished_at.desc(), _S.id.desc()).limit(limit)))


# -- applying (the workers) ---------------------------------------------------------------------

def apply_due(session: Session, store: SettingsStore, now: datetime) -> list[ScheduledSettingChange]:
    """Apply every pending change due at ``now`` in the order they fall due; returns those
    this call settled (applied or failed), none while another process is at it.

    The lease keeps that order across processes (two changes of one setting due in the same
    tick land in their order, whichever processes run); the claim in ``apply_one`` is what
    makes each apply exactly once, lease or not."""
    holder = lease.new_holder("scheduled-settings")
    if not lease.acquire(session, LEASE, holder, now, LEASE_TTL):
        return []
    try:
        due = list(session.scalars(select(_S.id).where(
            _S.status == "pending", _S.effective_at <= now)
            .order_by(_S.effective_at, _S.id).limit(BATCH)))
        session.rollback()
        done = [apply_one(session, store, scheduled_id, now) for scheduled_id in due]
    finally:
        lease.release(session, LEASE, holder)
    return [row for row in done if row is not None]


def apply_one(session: Session, store: SettingsStore, scheduled_id: int, now: datetime
              ) -> ScheduledSettingChange | None:
    """Claim one pending change and apply it, or record why it can no longer be (None when
    it was not pending any more)."""
    with write_transaction(session):
        if not _claim(session, scheduled_id, status="applied", finished_at=now):
            return None
        row = get(session, scheduled_id)
        actor = Actor(row.actor, row.actor_role)
        try:
            coerced = store.validate(session, row.values)
        except InvalidInput as err:
            _fail(session, row, actor, err, now)
        else:
            record(session, store, actor, coerced, now, "settings.scheduled_apply",
                   scheduled_change=row.id)
    store.invalidate()
    return row


def _claim(session: Session, scheduled_id: Any, **values: Any) -> bool:
    if not storable_id(scheduled_id):
        return False
    return session.execute(update(_S).where(_S.id == scheduled_id, _S.status == "pending")
                           .values(**values)).rowcount == 1


def _fail(session: Session, row: ScheduledSettingChange, actor: Actor, err: InvalidInput,
          now: datetime) -> None:
    reasons = "; ".join(f"{label(k)} {v}" for k, v in err.fields.items()) or err.message
    row.status, row.error = "failed", reasons
    sentence = (f"The setting change {row.actor} scheduled for {row.effective_at:%Y-%m-%d %H:%M}"
                f" UTC ({describe_values(row.values)}) was not applied: {reasons}.")
    session.connection().execute(insert(outbox_table()), [outbox_row(
        SCHEDULED_SETTING_FAILED, None, {
            "event": SCHEDULED_SETTING_FAILED, "scheduled_id": row.id, "values": row.values,
            "effective_at": row.effective_at.isoformat(), "actor": row.actor,
            "error": reasons, "notification": sentence}, now)])
    audit.write(session, [audit.AuditRecord(
        actor, "settings.schedule_failed", "scheduled_setting", str(row.id),
        before=row.values, message=sentence)], now)


# -- shapes -------------------------------------------------------------------------------------

def describe_values(values: dict[str, Any]) -> str:
    """``{"builder_grace_period": 60}`` in words: "builder grace period → 60"."""
    return ", ".join(f"{label(k)} → {v}" for k, v in values.items())


def to_dict(row: ScheduledSettingChange) -> dict[str, Any]:
    return {"id": row.id, "values": row.values, "effective_at": row.effective_at.isoformat(),
            "status": row.status, "actor": row.actor, "comment": row.comment,
            "created_at": row.created_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "cancelled_by": row.cancelled_by, "error": row.error}

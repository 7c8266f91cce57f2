"""Scheduled transitions (CONTRACT §8): "move this entity to X at T, because R".

Making one checks what can be checked now (the entity, the state, the time, the reason, the
role); whether the move is allowed is decided when it runs, as its author, with the same checks
as a move the author made by hand (history source ``timer``; a move that needs approval asks
for it). Each due schedule is claimed by ``UPDATE ... WHERE status = 'pending'`` in a
transaction of its own: whichever process's update wins runs it, the others skip it, so it
runs exactly once however many workers look. A refused one ends ``failed`` with the reasons,
and a ``ScheduleFailed`` event tells its author (a notification naming them).

A claimed schedule whose process died before it finished stays ``running``; after
``RECOVER_AFTER`` the next pass settles it from the record: a history row with its correlation
id means the move was made (``done``), otherwise it goes back to ``pending`` and runs again.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.core.approvals import requests as approval_requests
from webapp.core.audit import chain as audit
from webapp.core.base import bounds
from webapp.core.base.actor import Actor
from webapp.core.base.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    StatekeeperError,
    storable_id,
)
from webapp.core.base.events import outbox_row, outbox_table
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import label
from webapp.core.changes.planning import resolve_state
from webapp.models import Approval, Entity, ScheduledTransition, StatusChange, User

if TYPE_CHECKING:
    from webapp.core.changes.manager import StateManager

#: How far ahead a transition may be scheduled.
HORIZON = timedelta(days=730)
REASON_MAX = 2000
#: Due schedules run per pass (the rest on the next one).
BATCH = 500
#: A schedule still ``running`` after this long was claimed by a process that died.
RECOVER_AFTER = timedelta(minutes=10)
SCHEDULE_FAILED = "ScheduleFailed"
_S = ScheduledTransition.__table__


class ScheduleClosed(StatekeeperError):
    """The schedule already ran, failed or was cancelled."""

    status = 409
    code = "conflict"


def create(sm: StateManager, session: Session, actor: Actor, entity_id: Any, to: Any, at: Any,
           reason: Any) -> ScheduledTransition:
    """A pending schedule; 404 for an unknown entity, 400 naming each bad field, 403 for a
    role that may not change statuses."""
    if not actor.may("operate"):
        raise PermissionDenied(f"Your role ({actor.role}) may not schedule transitions.")
    entity = _entity(session, entity_id)
    now = sm.clock()
    problems: dict[str, str] = {}
    target = _target(sm, session, entity, to, problems)
    when = _when(at, now, problems)
    text = _reason(reason, problems)
    if problems:
        raise InvalidInput("The schedule was not made: " + " ".join(problems.values()), problems)
    with write_transaction(session):
        s = ScheduledTransition(entity_id=entity.id, to_status=target, at=when, reason=text,
                                status="pending", actor=actor.name, actor_role=actor.role,
                                created_at=now, outcome={})
        session.add(s)
        session.flush()
        audit.write(session, [audit.AuditRecord(
            actor, "schedule.create", entity.type, str(entity.id), after=to_dict(s),
            message=f"scheduled a move to {target} at {when.isoformat()}: {text}")], now)
    return s


def _entity(session: Session, entity_id: Any) -> Entity:
    entity = session.get(Entity, entity_id) if storable_id(entity_id) else None
    if entity is None:
        raise NotFound(f"No entity with id {entity_id}.")
    return entity


def _target(sm: StateManager, session: Session, entity: Entity, to: Any,
            problems: dict[str, str]) -> str | None:
    wf = sm.workflow(session, entity.type)
    current = wf.states.get(entity.status)
    if current is not None and current.terminal:
        problems["to"] = (f"{wf.label} {entity.name!r} is {entity.status}, a final state: "
                          f"nothing can move it any more.")
        return None
    try:
        return resolve_state(wf, to)
    except InvalidInput as err:
        problems["to"] = err.fields.get("to") or err.message
        if isinstance(to, str) and to.strip():
            problems["to"] = f"{wf.label} has no state {to.strip()!r}. " + problems["to"]
        return None


def _when(at: Any, now: datetime, problems: dict[str, str]) -> datetime | None:
    if isinstance(at, datetime):
        when = at if at.tzinfo else at.replace(tzinfo=now.tzinfo)
    else:
        try:
            when = bounds.parse_time(at, "at")
        except InvalidInput as err:
            problems["at"] = err.fields.get("at") or err.message
            return None
    if when <= now:
        problems["at"] = "Choose a time in the future."
    elif when > now + HORIZON:
        problems["at"] = f"Choose a time within {HORIZON.days} days from now."
    return when


def _reason(reason: Any, problems: dict[str, str]) -> str | None:
    if reason is not None and not isinstance(reason, str):
        problems["reason"] = "Send the reason as text."
        return None
    text = (reason or "").strip()
    if not text:
        problems["reason"] = "Say why: the reason goes into the history."
    elif len(text) > REASON_MAX:
        problems["reason"] = f"At most {REASON_MAX} characters."
    return text


def cancel(sm: StateManager, session: Session, actor: Actor, schedule_id: Any
           ) -> ScheduledTransition:
    """Cancel a pending schedule (404 unknown, 409 when it is no longer pending)."""
    if not actor.may("operate"):
        raise PermissionDenied(f"Your role ({actor.role}) may not cancel scheduled transitions.")
    now = sm.clock()
    with write_transaction(session):
        s = session.get(ScheduledTransition, schedule_id) if storable_id(schedule_id) else None
        if s is None:
            raise NotFound(f"No scheduled transition with id {schedule_id}.")
        done = session.execute(update(_S).where(_S.c.id == s.id, _S.c.status == "pending")
                               .values(status="cancelled", cancelled_by=actor.name,
                                       finished_at=now)).rowcount
        if done != 1:
            raise ScheduleClosed(f"Scheduled transition {s.id} is {s.status}: only a pending "
                                 f"one can be cancelled.")
        session.refresh(s)
        entity_type = session.scalar(select(Entity.type).where(Entity.id == s.entity_id))
        audit.write(session, [audit.AuditRecord(
            actor, "schedule.cancel", entity_type or "entity", str(s.entity_id),
            message=f"cancelled the move to {s.to_status} scheduled for {s.at.isoformat()}")],
            now)
    return s


def for_entity(session: Session, entity_id: int, limit: int = 50) -> list[ScheduledTransition]:
    """This entity's schedules: pending ones first (soonest first), then the rest, newest first."""
    rows = list(session.scalars(select(ScheduledTransition)
                                .where(ScheduledTransition.entity_id == entity_id)
                                .order_by(ScheduledTransition.id.desc()).limit(limit)))
    pending = sorted((s for s in rows if s.status == "pending"), key=lambda s: (s.at, s.id))
    return pending + [s for s in rows if s.status != "pending"]


def failed(session: Session, limit: int = 20) -> list[ScheduledTransition]:
    return list(session.scalars(select(ScheduledTransition)
                                .where(ScheduledTransition.status == "failed")
                                .order_by(ScheduledTransition.id.desc()).limit(limit)))


def to_dict(s: ScheduledTransition) -> dict[str, Any]:
    return {"id": s.id, "entity_id": s.entity_id, "to": s.to_status, "at": s.at.isoformat(),
            "reason": s.reason, "status": s.status, "actor": s.actor,
            "created_at": s.created_at.isoformat() if s.created_at else None,
            "finished_at": s.finished_at.isoformat() if s.finished_at else None,
            "reasons": (s.outcome or {}).get("reasons", []),
            "approval_id": (s.outcome or {}).get("approval_id")}


# -- running them --------------------------------------------------------------------------

@dataclass
class SchedulesReport:
    done: int = 0
    asked: int = 0
    failed: int = 0
    recovered: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"schedules: {self.done} done, {self.failed} failed"
        text += f", {self.asked} asked for approval" if self.asked else ""
        return text + (f", {self.recovered} recovered" if self.recovered else "")


def run_due(session: Session, sm: StateManager, now: datetime,
            stopping: Any = lambda: False) -> SchedulesReport:
    """Run every schedule due at ``now`` that this process claims first."""
    report = SchedulesReport()
    report.recovered = recover(session, now)
    ids = list(session.scalars(select(_S.c.id).where(_S.c.status == "pending", _S.c.at <= now)
                               .order_by(_S.c.at, _S.c.id).limit(BATCH)))
    session.rollback()
    for schedule_id in ids:
        if stopping():
            break
        cid = _claim(session, schedule_id, now)
        if cid is not None:
            _run(session, sm, schedule_id, cid, now, report)
    return report


def _claim(session: Session, schedule_id: int, now: datetime) -> str | None:
    """Take the schedule for this process; None when another process took it first."""
    cid = str(uuid.uuid4())
    with write_transaction(session):
        won = session.execute(update(_S).where(_S.c.id == schedule_id, _S.c.status == "pending")
                              .values(status="running", claimed_at=now, correlation_id=cid)
                              ).rowcount
    return cid if won == 1 else None


def _run(session: Session, sm: StateManager, schedule_id: int, cid: str, now: datetime,
         report: SchedulesReport) -> None:
    s = session.get(ScheduledTransition, schedule_id)
    assert s is not None
    entity_id, to, reason = s.entity_id, s.to_status, s.reason
    try:
        author = _author(session, s)
        outcome = approval_requests.transition_or_ask(
            sm, session, author, entity_id, to, reason=reason, version=None, source="timer",
            correlation_id=cid)
    except StatekeeperError as err:
        session.rollback()
        _finish(session, schedule_id, now, "failed", {"reasons": _messages(err)}, report)
        return
    if isinstance(outcome, Approval):
        _finish(session, schedule_id, now, "asked", {"approval_id": outcome.id}, report)
    else:
        _finish(session, schedule_id, now, "done",
                {"cascaded": outcome.cascaded[:200]} if outcome.cascaded else {}, report)


def _author(session: Session, s: ScheduledTransition) -> Actor:
    """The author as they are now: a disabled account runs nothing, a changed role counts."""
    user = session.execute(select(User.role, User.is_enabled)
                           .where(User.username == s.actor)).first()
    if user is None:  # not a sign-in account (a script's actor): the role it had
        return Actor(s.actor, s.actor_role)
    if not user.is_enabled:
        raise PermissionDenied(f"{s.actor}'s account is disabled.")
    author = Actor(s.actor, user.role)
    if not author.may("operate"):
        raise PermissionDenied(f"{s.actor} is {user.role} now and may no longer change statuses.")
    return author


def _messages(err: StatekeeperError) -> list[str]:
    return list(getattr(err, "messages", None) or [err.message])


def _finish(session: Session, schedule_id: int, now: datetime, status: str,
            outcome: dict[str, Any], report: SchedulesReport) -> None:
    with write_transaction(session):
        s = session.get(ScheduledTransition, schedule_id, populate_existing=True)
        assert s is not None
        s.status, s.finished_at, s.outcome = status, now, outcome
        if status == "failed":
            entity = session.get(Entity, s.entity_id)
            session.connection().execute(outbox_table().insert(), [outbox_row(
                SCHEDULE_FAILED, s.entity_id if entity else None, failed_event(s, entity),
                now)])
        item = {"id": schedule_id, "entity_id": s.entity_id, "to": s.to_status,
                "status": status, **outcome}
    setattr(report, status, getattr(report, status) + 1)
    report.items.append(item)


def failed_event(s: ScheduledTransition, entity: Entity | None) -> dict[str, Any]:
    what = (f"{label(entity.type).capitalize()} {entity.name!r}" if entity
            else f"entity {s.entity_id}")
    reasons = s.outcome.get("reasons", [])
    return {"event": SCHEDULE_FAILED, "schedule_id": s.id, "entity_id": s.entity_id,
            "type": entity.type if entity else None, "name": entity.name if entity else None,
            "to": s.to_status, "at": s.at.isoformat(), "author": s.actor, "reasons": reasons,
            "actor": s.actor, "source": "timer", "correlation_id": s.correlation_id,
            "notification": f"{s.actor}: your scheduled move of {what} to {s.to_status} "
                            f"failed: {' '.join(reasons)}"}


def recover(session: Session, now: datetime) -> int:
    """Settle schedules left ``running`` by a process that died (see the module's notes)."""
    stale = list(session.scalars(select(ScheduledTransition).where(
        ScheduledTransition.status == "running",
        ScheduledTransition.claimed_at < now - RECOVER_AFTER)))
    for s in stale:
        moved = session.scalar(select(StatusChange.id).where(
            StatusChange.correlation_id == s.correlation_id).limit(1))
        with write_transaction(session):
            session.execute(update(_S).where(_S.c.id == s.id, _S.c.status == "running").values(
                status="done" if moved else "pending",
                finished_at=now if moved else None))
    session.rollback()
    return len(stale)

"""Outbox dispatch: every event written with a change reaches its subscribers, at least once.

A round (``deliver_pending``):
1. claim due outbox rows in a short write transaction -- ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so parallel deliverers never take the same row; SQLite's write lock serialises.
   Claiming pushes ``next_attempt_at`` ``CLAIM_FOR`` ahead: the row is invisible to others
   meanwhile and visible again if this process dies before step 3 (a visibility timeout).
   In the same transaction the row fans out to the database: one webhook delivery per
   matching active subscription and the notifications the settings ask for, both unique per
   event, so a second claim adds nothing;
2. hand each event to the outbox subscribers (``sm.on_delivery``), outside any
   transaction, so a subscriber may itself call the StateManager;
3. mark the rows delivered.
A crash between 2 and 3 re-delivers after ``CLAIM_FOR`` (subscribers see the event again and
drop it by its ``idempotency_key``); nothing is ever lost.

Outbox subscribers (``sm.delivered``) are kept apart from ``sm.committed``: the StateManager
already publishes to that bus right after each commit (in the committing process; metrics
count there), so publishing outbox rows to it as well would hand every event to those
callbacks twice.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp.core.base.transactions import write_transaction
from webapp.core.base.upserts import insert_ignore
from webapp.core.events import notifications
from webapp.models import OutboxEvent, WebhookDelivery, WebhookSubscription

if TYPE_CHECKING:
    from webapp.core.changes.manager import StateManager

BATCH = 200
CLAIM_FOR = timedelta(seconds=60)
#: A row claimed this often and never marked delivered is poison (its delivery keeps dying):
#: it is set aside as dead instead of taking every deliverer down with it.
MAX_CLAIMS = 10
_O = OutboxEvent.__table__


def deliver_pending(session: Session, sm: StateManager, now: datetime, batch: int = BATCH) -> int:
    """One round: claim, fan out, publish, mark delivered. Returns how many events it took."""
    events = claim(session, sm, now, batch)
    if events:
        sm.delivered.publish([bus_event(e) for e in events])
        mark_delivered(session, [e.id for e in events], now)
    return len(events)


def deliver_all(session: Session, sm: StateManager, clock: Callable[[], datetime],
                max_rounds: int = 50) -> int:
    """Rounds until the outbox has nothing due (or ``max_rounds``, to keep a tick bounded)."""
    total = 0
    for _ in range(max_rounds):
        n = deliver_pending(session, sm, clock())
        total += n
        if n < BATCH:
            break
    return total


def claim(session: Session, sm: StateManager, now: datetime, batch: int = BATCH) -> list[OutboxEvent]:
    """Take up to ``batch`` due events for this process and fan them out (one transaction)."""
    with write_transaction(session):
        stmt = (select(OutboxEvent).where(OutboxEvent.state == "pending",
                                          OutboxEvent.next_attempt_at <= now)
                .order_by(OutboxEvent.id).limit(batch))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        poisoned = [e for e in rows if e.attempts >= MAX_CLAIMS]
        events = [e for e in rows if e.attempts < MAX_CLAIMS]
        _set_aside(session, poisoned)
        if events:
            session.connection().execute(
                update(_O).where(_O.c.id.in_([e.id for e in events]))
                .values(next_attempt_at=now + CLAIM_FOR, attempts=_O.c.attempts + 1))
            fan_out(session, sm, events, now)
        for e in rows:  # plain snapshots from here on: the commit must not expire them
            session.expunge(e)
    return events


def _set_aside(session: Session, events: Sequence[OutboxEvent]) -> None:
    if events:
        session.connection().execute(
            update(_O).where(_O.c.id.in_([e.id for e in events])).values(
                state="dead", last_error=f"claimed {MAX_CLAIMS} times without finishing: "
                                         "its delivery keeps failing or crashing the process"))


def fan_out(session: Session, sm: StateManager, events: Sequence[OutboxEvent], now: datetime) -> None:
    """The database side of delivery: webhook deliveries and notifications (never twice)."""
    subscriptions = session.execute(select(WebhookSubscription.id, WebhookSubscription.event_types)
                                    .where(WebhookSubscription.is_active)).all()
    insert_ignore(session, WebhookDelivery, [
        {"subscription_id": sub_id, "event_id": e.id, "state": "pending", "attempts": 0,
         "next_attempt_at": now, "created_at": now}
        for e in events for sub_id, types in subscriptions if matches(types, e.event_type)
    ], ("subscription_id", "event_id"))
    notifications.add_for_events(session, sm, events, now)


def matches(event_types: Sequence[str] | None, event_type: str) -> bool:
    return bool(event_types) and ("*" in event_types or event_type in event_types)


def bus_event(e: OutboxEvent) -> dict[str, Any]:
    """What subscribers get: the payload, plus the keys to drop a redelivered event by."""
    return {**(e.payload or {}), "event": e.event_type, "event_id": e.id,
            "idempotency_key": e.idempotency_key}


def mark_delivered(session: Session, ids: Sequence[int], now: datetime) -> None:
    with write_transaction(session):
        session.connection().execute(
            update(_O).where(_O.c.id.in_(list(ids)), _O.c.state == "pending")
            .values(state="delivered", delivered_at=now, last_error=None))


def backlog(session: Session, now: datetime) -> int:
    """Events due and not delivered yet (bounded count, for the page and health)."""
    due = select(_O.c.id).where(_O.c.state == "pending", _O.c.next_attempt_at <= now).limit(10_000)
    return session.scalar(select(func.count()).select_from(due.subquery())) or 0

"""The in-app notification feed (the bell): which events become notifications, and reading it.

Following the notification settings (CONTRACT.md §5, core/settings.py):
- ``notify_on_inactivation``: one notification per sweep that made entities inactive
  ("The sweep made 3 entities inactive: 2 builders, 1 property ...") -- one per run, not one
  per entity, so a sweep of thousands does not bury the feed;
- ``notify_on_cascade``: a change that sets off cascades ("Builder 'Acme Homes' marked
  out_of_business; 12 related entities changed with it").
- any event whose payload carries a ``notification`` sentence (SLA alerts, failed timers and
  schedules name their own).
A notification is unique per outbox event, so a redelivered event adds none. Each one is
about something the page links to (``subjects``): its entity, its sweep run, the bulk
operation a change was part of.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.orm import Session

from webapp.core.approvals.records import EVENTS as APPROVAL_EVENTS
from webapp.core.base.events import STATUS_CHANGED
from webapp.core.base.transactions import write_transaction
from webapp.core.base.upserts import insert_ignore
from webapp.core.base.words import label, plural
from webapp.core.sweeps.runs import SWEEP_COMPLETED
from webapp.core.workflows.definition import Workflow
from webapp.models import Notification, OutboxEvent, StatusChange, User

if TYPE_CHECKING:
    from webapp.core.changes.manager import StateManager

UNREAD_CAP = 99


def add_for_events(session: Session, sm: StateManager, events: Sequence[OutboxEvent], now: datetime) -> None:
    """Add the notifications these events call for (inside the caller's transaction)."""
    settings, workflows = sm.settings.all(session), sm.workflows.all(session)
    rows = []
    for e in events:
        message = message_for(session, e.event_type, e.payload or {}, settings, workflows)
        if message:
            rows.append({"created_at": now, "event_type": e.event_type, "message": message[:500],
                         "entity_id": e.entity_id, "event_id": e.id})
    insert_ignore(session, Notification, rows, ("event_id",))


def message_for(session: Session, event_type: str, payload: dict[str, Any],
                settings: dict[str, Any], workflows: dict[str, Workflow]) -> str | None:
    """The sentence for the feed, or None when the settings want no notification."""
    if event_type in APPROVAL_EVENTS:  # requests, and their decisions for the requester
        return payload.get("message") or None
    if payload.get("notification"):  # an event that says its own sentence (SLA, timers)
        return str(payload["notification"])
    if event_type == SWEEP_COMPLETED and settings.get("notify_on_inactivation"):
        return _swept(payload, workflows)
    if (event_type == STATUS_CHANGED and settings.get("notify_on_cascade")
            and payload.get("source") != "cascade" and _sets_off_cascade(payload, workflows)):
        return _cascaded(session, payload, workflows)
    return None


def _label(workflows: dict[str, Workflow], type_: str) -> str:
    wf = workflows.get(type_)
    return wf.label if wf else label(type_).capitalize()


def _swept(p: dict[str, Any], workflows: dict[str, Workflow]) -> str | None:
    if not p.get("inactivated"):
        return None
    per_type = ", ".join(plural(c["inactivate"], t) for t, c in sorted(p.get("by_type", {}).items())
                         if c.get("inactivate"))
    examples = ", ".join(f"{_label(workflows, x['type'])} {x['name']!r}"
                         for x in p.get("examples", [])[:3])
    entities = "entity" if p["inactivated"] == 1 else "entities"
    return (f"The sweep made {p['inactivated']} {entities} inactive ({per_type}) after their "
            f"grace period" + (f", e.g. {examples}" if examples else "") + ".")


def _sets_off_cascade(p: dict[str, Any], workflows: dict[str, Workflow]) -> bool:
    wf = workflows.get(p.get("type", ""))
    return bool(wf and p.get("old_status") != p.get("new_status")
                and any(c.on_enter == p.get("new_status") for c in wf.cascades))


def _cascaded(session: Session, p: dict[str, Any], workflows: dict[str, Workflow]) -> str:
    n = session.scalar(select(func.count()).select_from(StatusChange).where(
        StatusChange.correlation_id == p.get("correlation_id", ""),
        StatusChange.source == "cascade")) or 0
    text = f"{_label(workflows, p['type'])} {p.get('name')!r} marked {p.get('new_status')}"
    return text + (f"; {plural(n, 'related entity')} changed with it" if n else "")


# -- the feed -----------------------------------------------------------------------------------

def feed(session: Session, before_id: int | None = None, limit: int = 30) -> list[Notification]:
    """Newest first, a keyset page below ``before_id``."""
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if before_id:
        stmt = stmt.where(Notification.id < before_id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Subject:
    """What a notification is about: ``kind`` "entity" (key: its id), "sweep_run" (the run
    id) or "bulk" (the operation's correlation id)."""

    kind: str
    key: int | str


def subjects(session: Session, items: Sequence[Notification]) -> dict[int, list[Subject]]:
    """Per notification id, what it is about, the main subject first (read from the outbox
    event it came from: one query for the page)."""
    event_ids = [n.event_id for n in items if n.event_id]
    payloads = dict(session.execute(select(OutboxEvent.id, OutboxEvent.payload)
                                    .where(OutboxEvent.id.in_(event_ids))).all())
    return {n.id: _subjects(n, payloads.get(n.event_id) or {}) for n in items}


def _subjects(n: Notification, payload: dict[str, Any]) -> list[Subject]:
    found = [Subject("entity", n.entity_id)] if n.entity_id else []
    if n.event_type == SWEEP_COMPLETED and isinstance(payload.get("run_id"), int):
        found.append(Subject("sweep_run", payload["run_id"]))
    if payload.get("source") == "bulk" and payload.get("correlation_id"):
        found.append(Subject("bulk", str(payload["correlation_id"])))
    return found


#: Built once: the bell runs it on every page, and building it cost more than running it.
_UNREAD = select(func.count()).select_from(
    select(Notification.id).where(Notification.id > bindparam("seen_id"))
    .limit(bindparam("limit", type_=Integer)).subquery())


def unread_count(session: Session, seen_id: int, cap: int = UNREAD_CAP) -> int:
    """Notifications above ``seen_id``, counted no further than ``cap + 1`` (shown as "99+")."""
    return session.scalar(_UNREAD, {"seen_id": seen_id, "limit": cap + 1}) or 0


def mark_seen(session: Session, user_id: int, up_to_id: int | None = None) -> int:
    """Everything up to ``up_to_id`` (default: the newest) counts as seen by this user."""
    with write_transaction(session):
        newest = session.scalar(select(func.max(Notification.id))) or 0
        newest = min(up_to_id, newest) if up_to_id else newest
        session.execute(update(User).where(User.id == user_id, User.notifications_seen_id < newest)
                        .values(notifications_seen_id=newest)
                        .execution_options(synchronize_session=False))
    return newest

"""What the dashboard shows: counts by status, entities at risk, the last sweep, event health.

Counts by type and status are read from ``entity_counts``, which the write path keeps exact in
the same transaction as every change (core/changes/counts.py): a few dozen rows, however many
entities, and never stale. The at-risk figures are kept in process for ``TTL_SECONDS`` and
shown with the time they were computed. Every other figure is a capped count or an indexed
lookup.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.workflows.definition import Workflow
from webapp.models import Entity, OutboxEvent, StatusChange, SweepRun, WebhookDelivery
from webapp.models.entity_count import EntityCount

TTL_SECONDS = 30
#: Counts of entities at risk and of undelivered events stop here ("1,000+"): a capped count
#: reads at most this many index entries, where an exact one would read millions.
RISK_CAP = 1_000
T = TypeVar("T")


class TTLCache:
    """A tiny per-process cache: each value is recomputed when older than ``ttl`` seconds."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[Any, tuple[datetime, Any]] = {}

    def get(self, key: Any, now: datetime, compute: Callable[[], T]) -> tuple[T, datetime]:
        """The value and when it was computed (now, when it had to be recomputed)."""
        with self._lock:
            hit = self._values.get(key)
        if hit and 0 <= (now - hit[0]).total_seconds() < self.ttl:
            return hit[1], hit[0]
        value = compute()
        with self._lock:
            self._values[key] = (now, value)
        return value, now

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


CACHE = TTLCache()


@dataclass(frozen=True)
class AtRisk:
    """Entities of one type and state quiet for longer than the type's warning period."""

    type: str
    status: str
    warning_days: int
    count: int

    @property
    def capped(self) -> bool:
        return self.count > RISK_CAP


@dataclass(frozen=True)
class Health:
    pending: int
    dead: int
    webhook_dead: int
    #: When the longest-waiting pending event was due (None when nothing waits).
    oldest_due: datetime | None


def _database_key(session: Session, name: str) -> tuple[str, str]:
    # Tests and several apps in one process use different databases: never share their figures.
    return name, str(session.get_bind().url)


def status_counts(session: Session) -> list[tuple[str, str, int]]:
    """(type, status, count) for every pair that has entities, exact as of this transaction."""
    stmt = (select(EntityCount.type, EntityCount.status, EntityCount.n)
            .where(EntityCount.n != 0).order_by(EntityCount.type, EntityCount.status))
    return [(t, s, n) for t, s, n in session.execute(stmt)]


def at_risk(session: Session, workflows: dict[str, Workflow], settings: dict[str, Any],
            now: datetime) -> tuple[list[AtRisk], datetime]:
    """Per swept type and state: how many entities are past the type's warning period."""
    def compute() -> list[AtRisk]:
        found = []
        for type_, wf in sorted(workflows.items()):
            days = settings.get(wf.sweep.warning_setting) if wf.sweep else None
            if days is None:
                continue
            for state in wf.sweep.from_states:
                n = _quiet_count(session, type_, state, now - timedelta(days=days))
                found.append(AtRisk(type_, state, days, n))
        return found

    return CACHE.get(_database_key(session, "at_risk"), now, compute)


def _quiet_count(session: Session, type_: str, status: str, since: datetime) -> int:
    inner = (select(Entity.id).where(Entity.type == type_, Entity.status == status,
                                     Entity.last_activity_at < since)
             .limit(RISK_CAP + 1).subquery())
    return session.scalar(select(func.count()).select_from(inner)) or 0


def recent_changes(session: Session, limit: int = 12) -> list[tuple[StatusChange, str]]:
    """The latest history rows with their entity's name, newest first."""
    stmt = (select(StatusChange, Entity.name).join(Entity, Entity.id == StatusChange.entity_id)
            .order_by(StatusChange.id.desc()).limit(limit))
    return [(change, name) for change, name in session.execute(stmt)]


def last_sweeps(session: Session) -> tuple[SweepRun | None, SweepRun | None]:
    """The latest sweep of any kind, and the latest real (not dry-run) one."""
    latest = session.scalar(select(SweepRun).order_by(SweepRun.id.desc()).limit(1))
    if latest is None or not latest.dry_run:
        return latest, latest
    real = session.scalar(select(SweepRun).where(SweepRun.dry_run.is_(False))
                          .order_by(SweepRun.id.desc()).limit(1))
    return latest, real


def delivery_health(session: Session) -> Health:
    """Undelivered and dead events (capped counts on the state index)."""
    oldest = session.scalar(select(func.min(OutboxEvent.next_attempt_at))
                            .where(OutboxEvent.state == "pending"))
    return Health(_state_count(session, OutboxEvent, "pending"),
                  _state_count(session, OutboxEvent, "dead"),
                  _state_count(session, WebhookDelivery, "dead"), oldest)


def _state_count(session: Session, model: Any, state: str) -> int:
    inner = select(model.id).where(model.state == state).limit(RISK_CAP + 1).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0

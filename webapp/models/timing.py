"""Timers that were refused and scheduled transitions (CONTRACT §8, core/timing)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow

#: pending -> running (claimed by one worker) -> done | asked | failed; pending -> cancelled.
SCHEDULE_STATUSES = ("pending", "running", "done", "asked", "failed", "cancelled")


class TimerAttempt(Base):
    """A state's timeout that did not move its entity: refused (with the reasons) or turned
    into an approval request. One row per entry into the state, so a timer is tried once per
    entry and not again on every tick; a later entry into the state is a new timer."""

    __tablename__ = "timer_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int]
    entity_type: Mapped[str] = mapped_column(String(50))
    #: The state whose timeout it was, and the transition it asked for.
    state: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    #: The entity's ``status_changed_at`` then: which entry into the state this timer was.
    entered_at: Mapped[datetime]
    #: "refused" (the workflow, a role or a rule said no) or "asked" (approval requested).
    outcome: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    approval_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("entity_id", "entered_at", name="uq_timer_attempts_entity_entry"),
        Index("ix_timer_attempts_outcome_id", "outcome", "id"),
    )


class ScheduledTransition(Base):
    """"Move this entity to ``to_status`` at ``at``": asked by a person, run by the workers as
    that person (the same checks), exactly once."""

    __tablename__ = "scheduled_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int]
    to_status: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    #: pending, running, done, asked, failed, cancelled (SCHEDULE_STATUSES)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    #: The author: the run is made as this user (their role as of the run).
    actor: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When a worker claimed it; with ``correlation_id`` tells a crashed run's outcome.
    claimed_at: Mapped[datetime | None]
    correlation_id: Mapped[str | None] = mapped_column(String(36))
    finished_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(80))
    #: Why it failed (``reasons``), the approval it asked for (``approval_id``).
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_scheduled_transitions_status_at", "status", "at"),
        Index("ix_scheduled_transitions_entity_id_id", "entity_id", "id"),
    )

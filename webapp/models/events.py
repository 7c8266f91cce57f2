"""The transactional outbox: events written with the change, delivered later."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, utcnow


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Past tense: StatusChanged, EntityCreated, EntityWarned, ...
    event_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Stable across retries so receivers can drop duplicates (at-least-once delivery).
    idempotency_key: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: pending, delivered, dead
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_outbox_events_state_next", "state", "next_attempt_at"),)

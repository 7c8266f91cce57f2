"""Setting changes scheduled for a later time (CONTRACT §10): applied once by the workers."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow

#: Every status a scheduled change can have; only ``pending`` ever changes.
SCHEDULED_SETTING_STATUSES = ("pending", "applied", "failed", "cancelled")


class ScheduledSettingChange(Base):
    __tablename__ = "scheduled_setting_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: {key: value}, validated (and coerced) when scheduled; validated again when applied.
    values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    effective_at: Mapped[datetime]
    #: pending, applied, failed, cancelled
    status: Mapped[str] = mapped_column(String(10), default="pending")
    actor: Mapped[str] = mapped_column(String(80))
    #: The scheduler's role then: applying checks the change as that role would make it.
    actor_role: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When it was applied, failed or cancelled.
    finished_at: Mapped[datetime | None]
    #: Who cancelled it.
    cancelled_by: Mapped[str | None] = mapped_column(String(80))
    #: Why applying failed, in sentences.
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_scheduled_setting_changes_status_effective_at",
                            "status", "effective_at"),)

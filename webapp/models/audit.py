"""The tamper-evident audit log: what a person or client did, chained by hash."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    correlation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    #: e.g. entity.transition, bulk.transition, workflow.update, permission.denied, login.failed
    event_type: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: Redacted before/after values (only keys that changed).
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    #: low, medium, high: denials raise it when they repeat.
    risk: Mapped[str] = mapped_column(String(10), default="low")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entries_actor_id", "actor", "id"),
        Index("ix_audit_entries_event_type_id", "event_type", "id"),
        Index("ix_audit_entries_object", "object_type", "object_id"),
        #: Time filters and retention ("older than N days").
        Index("ix_audit_entries_created_at", "created_at"),
    )


class AuditCheckpoint(Base):
    """Left behind when old entries are archived, so the remaining chain still verifies."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Entries with ids up to this one were archived and removed.
    archived_up_to_id: Mapped[int]
    #: Hash of the last archived entry: the next entry's prev_hash must equal it.
    last_hash: Mapped[str] = mapped_column(String(64))
    archived_count: Mapped[int]
    archive_file: Mapped[str] = mapped_column(String(500))

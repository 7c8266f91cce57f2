"""Records of long-running work: bulk operations, sweep runs, and the worker lease."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, utcnow


class BulkOperation(Base):
    __tablename__ = "bulk_operations"

    id: Mapped[int] = mapped_column(primary_key=True)
    correlation_id: Mapped[str] = mapped_column(String(36), unique=True)
    #: transition, assign, update, undo
    operation_type: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: queued, running, done, failed
    state: Mapped[str] = mapped_column(String(10), default="done")
    total_items: Mapped[int] = mapped_column(default=0)
    processed_items: Mapped[int] = mapped_column(default=0)
    successful_items: Mapped[int] = mapped_column(default=0)
    failed_items: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class SweepRun(Base):
    __tablename__ = "sweep_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    dry_run: Mapped[bool] = mapped_column(default=False)
    as_of: Mapped[datetime | None]
    scanned: Mapped[int] = mapped_column(default=0)
    warned: Mapped[int] = mapped_column(default=0)
    inactivated: Mapped[int] = mapped_column(default=0)
    reactivated: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    triggered_by: Mapped[str] = mapped_column(String(80), default="worker")


class Lease(Base):
    """A named lease: only its holder runs the job until it expires (one sweep at a time)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]

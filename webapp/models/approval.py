"""Second-person approval (CONTRACT §9): a request to move an entity, or a bulk run's entities,
that another person decides on."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow

#: Every status a request can have; only ``pending`` ever changes.
APPROVAL_STATUSES = ("pending", "approved", "rejected", "expired", "failed")


class Approval(Base):
    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "entity" (one entity's transition) or "bulk" (a bulk transition of ``ids``)
    kind: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[int | None] = mapped_column(index=True)
    #: The entity type of an entity request (for its label and workflow).
    entity_type: Mapped[str | None] = mapped_column(String(50))
    #: A bulk request's entities, in the order asked.
    ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    #: The status asked for.
    to_status: Mapped[str] = mapped_column(String(50))
    #: The entity's status when asked (entity requests).
    from_status: Mapped[str | None] = mapped_column(String(50))
    #: The transition's name (entity requests).
    action: Mapped[str | None] = mapped_column(String(50))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(80))
    #: The requester's role then: approving re-plans the move as that role would make it.
    requester_role: Mapped[str] = mapped_column(String(20))
    #: The roles that may decide (the transition's ``approval.roles``, all of them for bulk).
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: pending, approved, rejected, expired, failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    #: What would happen, as computed when asked: an entity's cascades, or a bulk run's
    #: dry-run result with per-item reasons.
    preview: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: How to run it: the source asked through, the version seen, all-or-nothing (bulk).
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: What deciding did: the reasons a re-plan failed, the ids changed, the correlation id.
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_approvals_status_expires_at", "status", "expires_at"),
        Index("ix_approvals_status_id", "status", "id"),
    )

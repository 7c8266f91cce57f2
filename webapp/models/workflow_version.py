"""Workflow versions and drafts (CONTRACT §10): every saved workflow is a numbered version;
a draft is the next definition being prepared, published through the checks."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, utcnow


class WorkflowVersion(Base):
    """One saved definition of a type's workflow, as it was stored (never changed after)."""

    __tablename__ = "workflow_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(50))
    #: 1, 2, 3… per type: the workflow row's version once this definition was saved.
    version: Mapped[int]
    pack: Mapped[str] = mapped_column(String(50))
    definition: Mapped[dict[str, Any]]
    actor: Mapped[str] = mapped_column(String(80))
    comment: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The bulk correlation id of the entities moved when it was published (undoable as one).
    correlation_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (UniqueConstraint("entity_type", "version",
                                       name="uq_workflow_versions_entity_type"),)


class WorkflowDraft(Base):
    """The draft of a type's next workflow (one per type, shared by its editors)."""

    __tablename__ = "workflow_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(50), unique=True)
    definition: Mapped[dict[str, Any]]
    #: The version in force when the draft was started (the diff's "from").
    base_version: Mapped[int]
    #: States renamed in the draft, {name in force: new name}: publishing pre-fills the
    #: mapping of their entities with the new name.
    renames: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

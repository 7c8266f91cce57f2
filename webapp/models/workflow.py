"""Workflow definitions: one declarative document per entity type."""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, utcnow


class WorkflowDefinition(Base):
    __tablename__ = "workflow_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(50), unique=True)
    #: The pack it came from (realestate, facilities, accounts) or "custom".
    pack: Mapped[str] = mapped_column(String(50))
    #: States, transitions, rules, cascades and derived statuses; parsed by core.workflow.
    definition: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(80))

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

"""What people keep of the entity lists: named filters (saved views) and chosen columns."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class SavedView(Base):
    """A named list filter of one type (CONTRACT §11): personal, or shared with everyone;
    pinned views show on the dashboard with their counts."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    #: The list's parameters: status, q, parent_id, quiet_days, data.<field>__<op>, sort.
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The list's field columns, in order; None: the type's listed fields.
    columns: Mapped[list[str] | None] = mapped_column(JSONType)
    shared: Mapped[bool] = mapped_column(default=False)
    pinned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_name"),
        Index("ix_saved_views_shared", "shared"),
    )


class ListColumns(Base):
    """The field columns one person chose for one type's list (the column chooser)."""

    __tablename__ = "list_columns"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    columns: Mapped[list[str]] = mapped_column(JSONType, default=list)

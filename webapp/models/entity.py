"""Entities whose lifecycle is a status, and their append-only status history."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, utcnow

NAME_MAX = 200


class Entity(Base):
    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    status: Mapped[str] = mapped_column(String(50))
    #: Optimistic lock: every write of the row goes through the core's set-based statements
    #: (``UPDATE ... SET version = version + 1 WHERE id = ? AND version = ?``,
    #: core/changes/statements.py; activity in core/changes/entities.py), never an ORM flush;
    #: a stale version is a 409, never an overwrite.
    version: Mapped[int] = mapped_column(default=1)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the sweep raised the warning for the current quiet spell; cleared by activity.
    warned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_entities_type_status_id", "type", "status", "id"),
        Index("ix_entities_type_id", "type", "id"),
        #: Lists sorted by name page through this index instead of sorting the whole type.
        Index("ix_entities_type_name_id", "type", "name", "id"),
        Index("ix_entities_parent_type_status", "parent_id", "type", "status"),
        Index("ix_entities_type_activity", "type", "last_activity_at"),
        #: The sweep's and the dashboard's "quiet in these states since" range scans.
        Index("ix_entities_type_status_activity", "type", "status", "last_activity_at"),
        #: The reports' oldest entity in a state and longest-stuck list (core/reports).
        Index("ix_entities_type_status_changed", "type", "status", "status_changed_at"),
    )


class StatusChange(Base):
    """One row per change of an entity's status (or data, for revertable edits)."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    old_status: Mapped[str | None] = mapped_column(String(50))
    new_status: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    #: manual, api, bulk, sweep, cascade, revert, activity, import
    source: Mapped[str] = mapped_column(String(20))
    correlation_id: Mapped[str] = mapped_column(String(36), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    #: How long the entity had been in old_status, for dwell-time reports.
    seconds_in_previous: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_status_changes_entity_id_id", "entity_id", "id"),)


class SearchWord(Base):
    """The vocabulary of words in entity names, for correcting typos in search queries."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(NAME_MAX), primary_key=True)


class SearchableField(Base):
    """Which declared fields of each type the search indexes hold beside the name (kept by
    every workflow save, webapp/core/fields/searchable.py; read by the indexes' SQL)."""

    __tablename__ = "searchable_fields"

    type: Mapped[str] = mapped_column(String(50), primary_key=True)
    field: Mapped[str] = mapped_column(String(63), primary_key=True)

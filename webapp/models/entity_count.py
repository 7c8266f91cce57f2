"""How many entities each type has in each status: the dashboard's figures, read in one
indexed scan instead of counting every entity.

The write path keeps it exact: every statement that creates entities, changes their status or
deletes them adds its grouped deltas here in the same transaction (core/changes/counts.py);
``flask --app wsgi counts verify`` recounts and reports any drift.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base


class EntityCount(Base):
    __tablename__ = "entity_counts"

    type: Mapped[str] = mapped_column(String(50), primary_key=True)
    status: Mapped[str] = mapped_column(String(50), primary_key=True)
    #: Entities of this type in this status now. A row is kept at 0 when the last one leaves
    #: (deleting it would race with a writer adding to it).
    n: Mapped[int] = mapped_column(BigInteger, default=0)

"""SLA clocks per entity (CONTRACT §8, issue 16): ``sla_clocks``, one row per (entity, SLA),
kept by the write path (core/workflows/sla_keeping.py).

Entities already there when their type has SLAs get clocks started now (the time they spent
before is not known as SLA time; history is not rewritten).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from webapp.models.base import UTCDateTime, utcnow

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("goal_hours", sa.Double(), nullable=True),
        sa.Column("elapsed_seconds", sa.Double(), nullable=False),
        sa.Column("running_since", UTCDateTime(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("risk_at", UTCDateTime(), nullable=True),
        sa.Column("breached_at", UTCDateTime(), nullable=True),
        sa.Column("at_risk_sent_at", UTCDateTime(), nullable=True),
        sa.Column("breached_sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], ondelete="CASCADE",
                                name="fk_sla_clocks_entity_id_entities"),
        sa.PrimaryKeyConstraint("id", name="pk_sla_clocks"),
        sa.UniqueConstraint("entity_id", "name", name="uq_sla_clocks_entity_name"),
    )
    op.create_index("ix_sla_clocks_name_due", "sla_clocks", ["name", "due_at", "entity_id"])
    op.create_index("ix_sla_clocks_breached_risk", "sla_clocks", ["breached_at", "risk_at"])
    for name, column, sent in (("ix_sla_clocks_risk_unsent", "risk_at", "at_risk_sent_at"),
                               ("ix_sla_clocks_breach_unsent", "breached_at", "breached_sent_at")):
        unsent = sa.text(f"{sent} IS NULL")
        op.create_index(name, "sla_clocks", [column], sqlite_where=unsent,
                        postgresql_where=unsent)
    _start_clocks()


def _start_clocks() -> None:
    """Clocks for the entities of types whose stored workflow declares SLAs."""
    from sqlalchemy.orm import Session

    from webapp.core.workflows import sla_keeping

    with Session(bind=op.get_bind()) as session:
        sla_keeping.start_existing(session, utcnow())
        session.flush()


def downgrade() -> None:
    for name in ("ix_sla_clocks_breach_unsent", "ix_sla_clocks_risk_unsent",
                 "ix_sla_clocks_breached_risk", "ix_sla_clocks_name_due"):
        op.drop_index(name, table_name="sla_clocks")
    op.drop_table("sla_clocks")

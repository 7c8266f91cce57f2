"""scheduled_setting_changes: setting changes applied later by the workers (CONTRACT §10,
issue 18)."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from webapp.models.base import UTCDateTime

revision = "0019"
down_revision = "0018"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scheduled_setting_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("effective_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(80), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_scheduled_setting_changes"),
    )
    op.create_index("ix_scheduled_setting_changes_status_effective_at",
                    "scheduled_setting_changes", ["status", "effective_at"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_setting_changes_status_effective_at",
                  table_name="scheduled_setting_changes")
    op.drop_table("scheduled_setting_changes")

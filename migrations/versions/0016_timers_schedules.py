"""timers and schedules: refused timers and scheduled transitions (CONTRACT §8, issue 16)

``timer_attempts`` holds one row per entry into a state whose timeout could not move the
entity (refused, or turned into an approval request), so that timer is not tried again on
every tick; ``scheduled_transitions`` holds "move to X at T" requests. core/timing/ writes
both. The downgrade drops them (pending schedules are lost with it).

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import webapp.models.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def _time(name, nullable=False):
    return sa.Column(name, webapp.models.base.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "timer_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        _time("entered_at"),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timer_attempts")),
        sa.UniqueConstraint("entity_id", "entered_at", name="uq_timer_attempts_entity_entry"),
    )
    with op.batch_alter_table("timer_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_timer_attempts_outcome_id", ["outcome", "id"], unique=False)
    op.create_table(
        "scheduled_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("to_status", sa.String(length=50), nullable=False),
        _time("at"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        _time("created_at"),
        _time("claimed_at", nullable=True),
        sa.Column("correlation_id", sa.String(length=36), nullable=True),
        _time("finished_at", nullable=True),
        sa.Column("cancelled_by", sa.String(length=80), nullable=True),
        sa.Column("outcome", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_transitions")),
    )
    with op.batch_alter_table("scheduled_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_transitions_status_at", ["status", "at"], unique=False)
        batch_op.create_index("ix_scheduled_transitions_entity_id_id", ["entity_id", "id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scheduled_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_transitions_entity_id_id")
        batch_op.drop_index("ix_scheduled_transitions_status_at")
    op.drop_table("scheduled_transitions")
    with op.batch_alter_table("timer_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_timer_attempts_outcome_id")
    op.drop_table("timer_attempts")

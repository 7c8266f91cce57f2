"""approvals: second-person approval requests (CONTRACT §9)

One row per request to move an entity (kind "entity") or a bulk run's entities (kind "bulk");
core/approvals/ writes and decides them. The downgrade drops the table (pending requests are
lost with it).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import webapp.models.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade():
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("entity_type", sa.String(length=50), nullable=True),
        sa.Column("ids", _json(), nullable=False),
        sa.Column("to_status", sa.String(length=50), nullable=False),
        sa.Column("from_status", sa.String(length=50), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requester_role", sa.String(length=20), nullable=False),
        sa.Column("roles", _json(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("created_at", webapp.models.base.UTCDateTime(), nullable=False),
        sa.Column("decided_at", webapp.models.base.UTCDateTime(), nullable=True),
        sa.Column("expires_at", webapp.models.base.UTCDateTime(), nullable=False),
        sa.Column("preview", _json(), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("outcome", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index("ix_approvals_status_expires_at", ["status", "expires_at"],
                              unique=False)
        batch_op.create_index("ix_approvals_status_id", ["status", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_approvals_status_id")
        batch_op.drop_index("ix_approvals_status_expires_at")
        batch_op.drop_index(batch_op.f("ix_approvals_entity_id"))
    op.drop_table("approvals")

"""saved_views (named list filters, personal or shared, pinned to the dashboard) and
list_columns (the field columns each person chose per type): CONTRACT §11, issue 15."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from webapp.models.base import UTCDateTime

revision = "0014"
down_revision = "0013"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("query", JSON, nullable=False),
        sa.Column("columns", JSON, nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_saved_views_owner_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        sa.UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_name"),
    )
    op.create_index("ix_saved_views_shared", "saved_views", ["shared"])
    op.create_table(
        "list_columns",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_list_columns_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", "entity_type", name="pk_list_columns"),
    )


def downgrade() -> None:
    op.drop_table("list_columns")
    op.drop_index("ix_saved_views_shared", table_name="saved_views")
    op.drop_table("saved_views")

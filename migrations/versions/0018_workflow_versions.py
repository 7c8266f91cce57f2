"""Workflow versions and drafts (CONTRACT §10, issue 18).

Every workflow stored before this revision becomes its own first kept version (numbered as
its row's version), so a version list and a diff have a start.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from webapp.models.base import UTCDateTime

revision = "0018"
down_revision = "0017"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "workflow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(50), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("comment", sa.String(2000), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("correlation_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_versions"),
        sa.UniqueConstraint("entity_type", "version", name="uq_workflow_versions_entity_type"),
    )
    op.create_table(
        "workflow_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("renames", JSON, nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_drafts"),
        sa.UniqueConstraint("entity_type", name="uq_workflow_drafts_entity_type"),
    )
    op.execute(
        "INSERT INTO workflow_versions (entity_type, version, pack, definition, actor, comment, "
        "created_at) SELECT entity_type, version, pack, definition, "
        "COALESCE(updated_by, 'system'), 'The workflow as it was when versions began to be kept.', "
        "updated_at FROM workflow_definitions")


def downgrade() -> None:
    op.drop_table("workflow_drafts")
    op.drop_table("workflow_versions")

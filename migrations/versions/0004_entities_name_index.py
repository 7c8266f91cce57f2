"""index entities by (type, name, id) for lists sorted by name

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_entities_type_name_id", "entities", ["type", "name", "id"], unique=False)


def downgrade():
    op.drop_index("ix_entities_type_name_id", table_name="entities")

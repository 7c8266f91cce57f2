"""list, sweep and audit indexes: entities (type, name, id), (type, status, last_activity_at);
audit_entries (created_at)

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
    op.create_index("ix_entities_type_status_activity", "entities",
                    ["type", "status", "last_activity_at"], unique=False)
    op.create_index("ix_audit_entries_created_at", "audit_entries", ["created_at"], unique=False)


def downgrade():
    op.drop_index("ix_audit_entries_created_at", table_name="audit_entries")
    op.drop_index("ix_entities_type_status_activity", table_name="entities")
    op.drop_index("ix_entities_type_name_id", table_name="entities")

"""users.session_version: raising it signs out the user's browser sessions

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows start at 0. Their sessions hold a plain "<id>" and are signed out anyway
    # (the loader wants "<id>:<version>"): everyone signs in once after this upgrade.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False,
                                      server_default="0"))


def downgrade():
    # Batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")

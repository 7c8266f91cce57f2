"""PostgreSQL: leave 10 % of each entities page free, so updates of unindexed columns are HOT

An UPDATE that changes no indexed column can stay on its page without touching any index (a
heap-only tuple) only if the page has room. Warnings (warned_at), data edits and version bumps
change no indexed column; with full pages each still wrote into all eight indexes of entities:
452-568 ms per 5,000 warnings at 1,000,000 entities, 67-69 ms with fillfactor 90
(BENCHMARKS.md, Sweep, PostgreSQL). New pages get the room at once; existing ones after
`VACUUM FULL entities` (or pg_repack) in a maintenance window.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE entities SET (fillfactor = 90)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE entities RESET (fillfactor)")

"""Workflow versions and drafts (CONTRACT §10, issue 18): placeholder."""
from __future__ import annotations

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""Searchable declared fields in the search index (CONTRACT §7, issue 15): placeholder."""
from __future__ import annotations

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

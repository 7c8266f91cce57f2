"""Timer attempts and scheduled transitions (CONTRACT §8, issue 16): placeholder."""
from __future__ import annotations

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

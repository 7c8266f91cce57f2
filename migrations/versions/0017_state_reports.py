"""Time-in-state and throughput roll-ups (CONTRACT §8, issue 16): placeholder."""
from __future__ import annotations

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

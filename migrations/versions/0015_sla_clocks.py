"""SLA clocks per entity (CONTRACT §8, issue 16): placeholder until the SLA work fills it."""
from __future__ import annotations

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

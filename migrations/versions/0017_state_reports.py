"""time-in-state and throughput roll-ups (CONTRACT §8, issue 16)

``report_state_days`` holds per (type, state, UTC day) the entries into the state and the
count and longest of the stays that ended that day, ``report_stay_buckets`` those stays as a
log-spaced histogram (a row per bucket, so the database sums any range of days),
``report_stay_totals`` the same over all days (what a report over all history reads), and
``report_watermarks`` says how far the history has been folded into them. They start empty:
the workers fold the existing history in chunks (core/reports/rollup.py), and until they
have, a report reads the unfolded history itself, so its answers are exact from the start.
The index on entities (type, status, status_changed_at) finds the oldest entity in a state
and the longest-stuck ones.

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import webapp.models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "report_state_days",
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("exits", sa.BigInteger(), nullable=False),
        sa.Column("max_seconds", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("type", "state", "day", name=op.f("pk_report_state_days")),
        sqlite_with_rowid=False,  # rows kept in key order: a range of days reads in sequence
    )
    op.create_table(
        "report_stay_buckets",
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("type", "state", "day", "bucket",
                                name=op.f("pk_report_stay_buckets")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_stay_totals",
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=50), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("type", "state", "bucket", name=op.f("pk_report_stay_totals")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_watermarks",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("gaps", _json(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("folded_at", webapp.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_watermarks")),
    )
    op.create_index("ix_entities_type_status_changed", "entities",
                    ["type", "status", "status_changed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_entities_type_status_changed", table_name="entities")
    op.drop_table("report_watermarks")
    op.drop_table("report_stay_totals")
    op.drop_table("report_stay_buckets")
    op.drop_table("report_state_days")

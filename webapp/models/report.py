"""Roll-ups of the status history for the time-in-state and throughput reports (CONTRACT §8).

The workers fold ``status_changes`` into these rows incrementally (core/reports/rollup.py);
a report reads them plus the few history rows not folded yet, so its answers are exact.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType


class ReportStateDay(Base):
    """What happened in one state of one type on one UTC day."""

    __tablename__ = "report_state_days"
    #: SQLite keeps the rows in key order (a range of days is one sequential read).
    __table_args__ = ({"sqlite_with_rowid": False},)

    type: Mapped[str] = mapped_column(String(50), primary_key=True)
    state: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    #: Entities that entered the state that day (created in it, or moved into it).
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Stays in the state that ended that day with a known length (the history row's
    #: seconds_in_previous); their lengths are in report_stay_buckets.
    exits: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The longest of those stays, in seconds (None when there was none).
    max_seconds: Mapped[float | None]


class ReportStayBucket(Base):
    """How many stays in a state that ended on a day fell in one length bucket: a log-spaced
    histogram (core/reports/histogram.py), summed by the database for any range of days."""

    __tablename__ = "report_stay_buckets"
    __table_args__ = ({"sqlite_with_rowid": False},)

    type: Mapped[str] = mapped_column(String(50), primary_key=True)
    state: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportStayTotal(Base):
    """The same histogram over every day: what "time in state" over all history reads (a few
    hundred rows per type, however long the history)."""

    __tablename__ = "report_stay_totals"
    __table_args__ = ({"sqlite_with_rowid": False},)

    type: Mapped[str] = mapped_column(String(50), primary_key=True)
    state: Mapped[str] = mapped_column(String(50), primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportWatermark(Base):
    """How far the history has been folded into the roll-ups (one row)."""

    __tablename__ = "report_watermarks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    #: Every history row up to this id is folded, except the ids listed in ``gaps``.
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Ids below last_id missing when it moved past them ([first, last, seen at ISO]): rows of
    #: transactions still open then, folded when they appear; dropped after a while.
    gaps: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    #: Bumped by every fold: a report that reads it twice knows whether a fold came between.
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    folded_at: Mapped[datetime | None]

"""SLA clocks: one row per (entity, SLA) of the types that declare SLAs (CONTRACT §8).

The write path keeps each row in step with its entity in the same transaction
(core/workflows/sla_keeping.py); the marks below make "due", "at risk" and "breached" at any
moment one indexed comparison with that moment, and the alerts' claims exactly-once updates.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base

#: Clock states: not started yet (never entered a start state), counting, paused, stopped.
SLA_STATES = ("waiting", "running", "paused", "stopped")
#: ``due_at`` of a clock that is not running: the far future, so that one index orders every
#: clock by due time (sort by due: running clocks first, soonest due first).
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


class SlaClock(Base):
    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    #: The SLA's name in the type's workflow (``resolution``).
    name: Mapped[str] = mapped_column(String(50))
    #: One of SLA_STATES.
    state: Mapped[str] = mapped_column(String(10))
    #: The goal that applies to the entity's data now; None when no goal matches.
    goal_hours: Mapped[float | None]
    #: Seconds counted in the runs before the current one (all of them when not running).
    elapsed_seconds: Mapped[float] = mapped_column(default=0.0)
    #: When the current run began; None unless running.
    running_since: Mapped[datetime | None]
    #: When the goal is used up if the clock keeps running; NEVER while it is not running.
    due_at: Mapped[datetime]
    #: When 80 % of the goal was (or will be, running) used; None while short of it and not
    #: running, and once stopped (a stopped clock is no longer at risk).
    risk_at: Mapped[datetime | None]
    #: When the goal was (or will be, running) used up; None while short of it and not running.
    breached_at: Mapped[datetime | None]
    #: When SlaAtRisk / SlaBreached was raised: each once per clock (core/timing/sla_alerts.py
    #: claims them with ``UPDATE ... WHERE ... IS NULL``).
    at_risk_sent_at: Mapped[datetime | None]
    breached_sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("entity_id", "name", name="uq_sla_clocks_entity_name"),
        #: Lists sorted by due time walk this index (one SLA name at a time).
        Index("ix_sla_clocks_name_due", "name", "due_at", "entity_id"),
        #: ``sla=breached`` (breached_at up to now) and ``sla=at_risk`` (breached_at after now
        #: or none, and risk_at up to now: two ranges of this one index).
        Index("ix_sla_clocks_breached_risk", "breached_at", "risk_at"),
        #: The alerts still to raise, without reading those raised already.
        Index("ix_sla_clocks_risk_unsent", "risk_at",
              sqlite_where=text("at_risk_sent_at IS NULL"),
              postgresql_where=text("at_risk_sent_at IS NULL")),
        Index("ix_sla_clocks_breach_unsent", "breached_at",
              sqlite_where=text("breached_sent_at IS NULL"),
              postgresql_where=text("breached_sent_at IS NULL")),
    )

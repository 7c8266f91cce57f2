"""SLA clocks as arithmetic (CONTRACT §8): where a clock stands after its entity changes status
or data or its workflow changes a goal, and what it reads at any moment.

Pure: the rows are kept by ``sla_keeping`` (the write path and workflow saves) and read by
core/timing. A clock starts when its entity enters a start state (or is created in a type
whose initial state is one), runs while the entity is in neither a pause nor a stop state,
and keeps the seconds of its earlier runs. Its marks (due, at risk, breached) are moments,
so "breached now" is ``breached_at <= now``, one indexed comparison (``condition``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from webapp.core.workflows.timing import AT_RISK, Sla
from webapp.models.sla import NEVER, SLA_STATES, SlaClock

WAITING, RUNNING, PAUSED, STOPPED = SLA_STATES
#: The list filter's values (``sla=breached``, ``sla=at_risk``).
FILTERS = ("breached", "at_risk")
#: The alerts' events (raised by core/timing/sla_alerts.py; named here, where the events
#: package may import them for its webhook choices).
SLA_AT_RISK = "SlaAtRisk"
SLA_BREACHED = "SlaBreached"


@dataclass(frozen=True)
class Clock:
    """A clock's stored values (the columns of ``SlaClock`` the write path keeps)."""

    state: str
    goal_hours: float | None
    elapsed_seconds: float
    running_since: datetime | None
    due_at: datetime
    risk_at: datetime | None
    breached_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Clock:
        return cls(*(getattr(row, name) for name in COLUMNS))

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}

    def elapsed(self, now: datetime) -> float:
        """Seconds counted up to ``now``."""
        running = (now - self.running_since).total_seconds() if self.running_since else 0.0
        return self.elapsed_seconds + max(0.0, running)

    def breached(self, now: datetime) -> bool:
        return self.breached_at is not None and self.breached_at <= now

    def at_risk(self, now: datetime) -> bool:
        return self.risk_at is not None and self.risk_at <= now and not self.breached(now)

    def reading(self, name: str, now: datetime) -> dict[str, Any]:
        """The contract's SLA item of the entity JSON at ``now``."""
        elapsed = int(self.elapsed(now))
        goal = None if self.goal_hours is None else round(self.goal_hours * 3600)
        due = None
        if self.state == RUNNING and goal is not None:
            due = self.breached_at if self.breached_at is not None and self.breached_at <= now \
                else self.due_at
        return {"name": name, "goal_hours": _number(self.goal_hours),
                "elapsed_seconds": elapsed,
                "remaining_seconds": None if goal is None else max(0, goal - elapsed),
                "paused": self.state == PAUSED, "breached": self.breached(now),
                "due_at": due.isoformat() if due else None}


COLUMNS = tuple(Clock.__dataclass_fields__)


def _number(hours: float | None) -> int | float | None:
    return int(hours) if hours is not None and float(hours).is_integer() else hours


def phase(sla: Sla, status: str, started: bool) -> str:
    """The state of a clock whose entity is in ``status`` (``started``: it was ever started)."""
    if not started and status not in sla.start:
        return WAITING
    if status in sla.stop:
        return STOPPED
    return PAUSED if status in sla.pause else RUNNING


def begins(sla: Sla, initial: str, status: str) -> bool:
    """Whether a new entity's clock starts at once: it is in a start state, or was created
    in one (an import in a later state passed through the type's initial state)."""
    return status in sla.start or initial in sla.start


def settled(sla: Sla, before: Clock | None, status: str, data: Mapping[str, Any],
            now: datetime, started: bool = False) -> Clock:
    """The clock once its entity is in ``status`` with ``data`` at ``now``: runs end or
    begin, the goal is chosen again, the marks follow. ``before`` None: a new clock
    (``started`` says whether it starts at once, see ``begins``)."""
    goal = sla.goal_for(data)
    hours = goal.hours if goal is not None else None
    was = before.state if before is not None else WAITING
    state = phase(sla, status, started or was != WAITING)
    elapsed = before.elapsed(now) if before is not None else 0.0
    since = None
    if state == RUNNING:
        # A run that goes on keeps its start (its seconds are not yet in elapsed_seconds).
        if was == RUNNING and before is not None and before.running_since is not None:
            since, elapsed = before.running_since, before.elapsed_seconds
        else:
            since = now
    return _marked(Clock(state, hours, elapsed, since, NEVER, None, None), before, now)


def _marked(c: Clock, before: Clock | None, now: datetime) -> Clock:
    if c.goal_hours is None or c.state == WAITING:
        return replace(c, due_at=NEVER, risk_at=None, breached_at=None)
    goal = c.goal_hours * 3600
    due = (c.running_since + timedelta(seconds=goal - c.elapsed_seconds)
           if c.state == RUNNING and c.running_since is not None else NEVER)
    risk = None if c.state == STOPPED else _mark(c, goal * AT_RISK, before and before.risk_at, now)
    return replace(c, due_at=due, risk_at=risk,
                   breached_at=_mark(c, goal, before and before.breached_at, now))


def _mark(c: Clock, seconds: float, known: datetime | None, now: datetime) -> datetime | None:
    """When the clock reached (or, running, will reach) ``seconds``; None if short of them
    and not running. Reached in an earlier run: the moment already known, else now."""
    if c.elapsed_seconds >= seconds:
        return known if known is not None and known <= now else now
    if c.state == RUNNING and c.running_since is not None:
        return c.running_since + timedelta(seconds=seconds - c.elapsed_seconds)
    return None


def condition(kind: str, now: datetime) -> ColumnElement[bool]:
    """SQL over ``SlaClock``: breached, or at risk (≥ 80 % used, not breached), at ``now``."""
    if kind == "breached":
        return SlaClock.breached_at <= now
    # Two ranges of the (breached_at, risk_at) index: running clocks not yet breached, and
    # paused ones short of their goal.
    return or_(and_(SlaClock.breached_at > now, SlaClock.risk_at <= now),
               and_(SlaClock.breached_at.is_(None), SlaClock.risk_at <= now))

"""The reports (CONTRACT §8): time in state, throughput per day, and the entities stuck longest.

Each reads the roll-ups plus the unfolded history (snapshot.py), the current counts from
``entity_counts`` and the oldest entities in a state through the index on entities (type,
status, status_changed_at): a few indexed reads per state, whatever the size of the history.
Durations are the stays that *ended* in the days asked for (an entity still in a state is in
``current``, not in the percentiles); percentiles are within 1 % (histogram.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base import bounds
from webapp.core.base.errors import InvalidInput
from webapp.core.reports import histogram, rollup, snapshot
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity, EntityCount

DAYS_DEFAULT, DAYS_MAX = 30, 366
#: Rows of the stuck list.
STUCK_LIMIT = 50
_HOUR = 3600.0
DATE_HINT = "Use a day as YYYY-MM-DD (or an ISO 8601 time: its UTC day counts)."


# ------------------------------------------------------------------ parameters


def workflow_of(workflows: Mapping[str, Workflow], type_: Any) -> Workflow:
    """The workflow of the ``type`` asked for; InvalidInput naming ``type`` otherwise."""
    if not isinstance(type_, str) or not type_.strip():
        raise InvalidInput("type is required.", {"type": "Name an entity type."})
    if type_ not in workflows:
        raise InvalidInput(f"There is no entity type {type_[:50]!r}.",
                           {"type": "Name an entity type that has a workflow."})
    return workflows[type_]


def window(since: Any, until: Any) -> tuple[date | None, date | None]:
    """The UTC days ``since`` and ``until`` name (both inclusive; empty: no bound)."""
    first = _day(since, "since") if since not in (None, "") else None
    last = _day(until, "until") if until not in (None, "") else None
    if first and last and last < first:
        raise InvalidInput("until is before since.", {"until": "Use a day on or after since."})
    return first, last


def _day(value: Any, name: str) -> date:
    try:
        return bounds.parse_time(value, name).astimezone(UTC).date()
    except InvalidInput as err:
        raise InvalidInput(f"{name} is not a day.", {name: DATE_HINT}) from err


def days(value: Any) -> int:
    """How many days of throughput: 1 to DAYS_MAX (DAYS_DEFAULT when not sent)."""
    if value in (None, ""):
        return DAYS_DEFAULT
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3) or not 1 <= int(text) <= DAYS_MAX:
        raise InvalidInput(f"days must be a whole number from 1 to {DAYS_MAX}.",
                           {"days": f"Send a whole number of days from 1 to {DAYS_MAX}."})
    return int(text)


# ------------------------------------------------------------------ time in state


@dataclass(frozen=True)
class Oldest:
    id: int
    name: str
    since: datetime


@dataclass(frozen=True)
class StateTime:
    state: str
    label: str
    terminal: bool
    entries: int
    #: Stays that ended in the days asked for (what the percentiles are over).
    stays: int
    p50_hours: float | None
    p90_hours: float | None
    max_hours: float | None
    current: int
    oldest: Oldest | None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "entries": self.entries, "p50_hours": self.p50_hours,
                "p90_hours": self.p90_hours, "max_hours": self.max_hours,
                "current": self.current,
                "oldest_current_id": self.oldest.id if self.oldest else None}


def time_in_state(session: Session, wf: Workflow, since: date | None = None,
                  until: date | None = None) -> list[StateTime]:
    """One row per state of the workflow, in its order."""
    per_state = snapshot.states(session, wf.entity_type, since, until)
    current = dict(session.execute(select(EntityCount.status, EntityCount.n)
                                   .where(EntityCount.type == wf.entity_type)).all())
    rows = []
    for name, st in wf.states.items():
        t = per_state.get(name) or rollup.Tally()
        p50, p90 = histogram.percentiles(t.buckets, (0.5, 0.9), t.max_seconds)
        n = int(current.get(name, 0))
        oldest = longest_in(session, wf.entity_type, name) if n else []
        rows.append(StateTime(name, st.label, st.terminal, t.entries, t.exits, _hours(p50),
                              _hours(p90), _hours(t.max_seconds), n,
                              oldest[0] if oldest else None))
    return rows


def longest_in(session: Session, type_: str, state: str, limit: int = 1,
               before: datetime | None = None) -> list[Oldest]:
    """The entities longest in ``state`` (that entered it first; ``before``: before then),
    read through the index on entities (type, status, status_changed_at)."""
    stmt = (select(Entity.id, Entity.name, Entity.status_changed_at)
            .where(Entity.type == type_, Entity.status == state)
            .order_by(Entity.status_changed_at, Entity.id).limit(limit))
    if before is not None:
        stmt = stmt.where(Entity.status_changed_at < before)
    return [Oldest(*row) for row in session.execute(stmt)]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / _HOUR, 3)


# ------------------------------------------------------------------ throughput


def throughput(session: Session, wf: Workflow, n_days: int, today: date) -> list[dict[str, Any]]:
    """Entries into each state per UTC day, for the ``n_days`` days up to ``today``, oldest
    first: ``[{"date": "2026-12-01", "<state>": entries, ...}]`` (every state, zeros too)."""
    first = today - timedelta(days=n_days - 1)
    entries = snapshot.entries(session, wf.entity_type, first, today)
    states = list(wf.states)
    return [{"date": day.isoformat(), **{s: entries.get((s, day), 0) for s in states}}
            for day in (first + timedelta(days=i) for i in range(n_days))]


# ------------------------------------------------------------------ stuck


@dataclass(frozen=True)
class Stuck:
    id: int
    name: str
    state: str
    since: datetime
    hours: float
    p90_hours: float

    @property
    def times_p90(self) -> float:
        return round(self.hours / self.p90_hours, 1) if self.p90_hours else 0.0


def stuck(session: Session, wf: Workflow, now: datetime, limit: int = STUCK_LIMIT,
          times: list[StateTime] | None = None) -> list[Stuck]:
    """The entities in a non-terminal state for longer than that state's p90 (over every stay
    that ended), longest first; ``times``: ``time_in_state`` over all days, if at hand."""
    times = times if times is not None else time_in_state(session, wf)
    found: list[Stuck] = []
    for t in times:
        if t.terminal or t.p90_hours is None or not t.current:
            continue
        cutoff = now - timedelta(hours=t.p90_hours)
        for e in longest_in(session, wf.entity_type, t.state, limit, before=cutoff):
            hours = (now - e.since).total_seconds() / _HOUR
            found.append(Stuck(e.id, e.name, t.state, e.since, round(hours, 1), t.p90_hours))
    found.sort(key=lambda s: (-s.hours, s.id))
    return found[:limit]

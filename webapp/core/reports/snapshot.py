"""A type's roll-ups plus its unfolded history, read as one consistent, exact snapshot.

Each reader gets the watermark in the same statement as the roll-ups (a UNION ALL: one
snapshot of both on any isolation level) and the database sums the days asked for; the
history past the watermark (and in its gaps) is read after that and tallied here. A fold
that commits in between moves rows from the tail the first statement did not see into
roll-ups it did not see either: none is lost or counted twice.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    Integer,
    String,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from webapp.core.reports.rollup import WATERMARK, Tally, history, in_gaps, tally
from webapp.models import (
    ReportStateDay,
    ReportStayBucket,
    ReportStayTotal,
    ReportWatermark,
    StatusChange,
)

_W, _D = ReportWatermark.__table__, ReportStateDay.__table__
_B, _T = ReportStayBucket.__table__, ReportStayTotal.__table__
#: The kinds of row in a snapshot's UNION ALL.
_MARK, _STATE, _BUCKET, _DAY = 0, 1, 2, 3


def states(session: Session, type_: str, first: date | None = None, last: date | None = None
           ) -> dict[str, Tally]:
    """Per state of ``type_``: entries, stays ended (with their histogram) and the longest,
    from day ``first`` to ``last`` (inclusive; None: no bound), exact as of now."""
    per_state: dict[str, Tally] = defaultdict(Tally)
    by_state = (select(literal(_STATE), _D.c.state, func.sum(_D.c.entries), func.sum(_D.c.exits),
                       func.max(_D.c.max_seconds), null(), null())
                .where(*_days(_D, type_, first, last)).group_by(_D.c.state))
    # Over all days the totals hold the histogram already summed (a few hundred rows).
    h = _T if first is None and last is None else _B
    by_bucket = (select(literal(_BUCKET), h.c.state, h.c.bucket, func.sum(h.c.n), null(),
                        null(), null())
                 .where(*_days(h, type_, first, last)).group_by(h.c.state, h.c.bucket))
    mark = None
    for kind, state, a, b, longest, gaps, _day in session.execute(
            union_all(_mark(), by_state, by_bucket)):
        if kind == _MARK:
            mark = (a, gaps)
        elif kind == _STATE:
            t = per_state[state]
            t.entries, t.exits = int(a), int(b)
            t.longest(longest)
        else:
            per_state[state].buckets[int(a)] += int(b)
    for (_type, state, day), t in _tail(session, type_, mark).items():
        if _within(day, first, last):
            per_state[state].add(t)
    return dict(per_state)


def entries(session: Session, type_: str, first: date, last: date) -> dict[tuple[str, date], int]:
    """Entries into each state of ``type_`` per day from ``first`` to ``last``, exact as of now."""
    found: dict[tuple[str, date], int] = defaultdict(int)
    by_day = (select(literal(_DAY), _D.c.state, _D.c.entries, null(), null(), null(), _D.c.day)
              .where(*_days(_D, type_, first, last), _D.c.entries > 0))
    mark = None
    for kind, state, n, _b, _longest, gaps, day in session.execute(union_all(_mark(), by_day)):
        if kind == _MARK:
            mark = (n, gaps)
        else:
            found[(state, day)] += int(n)
    for (_type, state, day), t in _tail(session, type_, mark).items():
        if _within(day, first, last) and t.entries:
            found[(state, day)] += t.entries
    return dict(found)


def _mark() -> Any:
    """The watermark as the first row of the UNION ALL (its column types type them all)."""
    return select(literal(_MARK, Integer), cast(null(), String), _W.c.last_id,
                  cast(null(), Integer), cast(null(), Float), _W.c.gaps,
                  cast(null(), Date)).where(_W.c.name == WATERMARK)


def _days(table: Any, type_: str, first: date | None, last: date | None) -> list[Any]:
    where = [table.c.type == type_]
    if "day" not in table.c:
        return where
    if first is not None:
        where.append(table.c.day >= first)
    if last is not None:
        where.append(table.c.day <= last)
    return where


def _tail(session: Session, type_: str, mark: tuple[int, Any] | None) -> dict:
    """The history not folded yet (all of it before the first fold), tallied for ``type_``
    (checked here: in SQL, a filter on the type leads the planners to every entity of it)."""
    last_id, gaps = (int(mark[0]), mark[1] or []) if mark else (0, [])
    rows = session.execute(history(or_(StatusChange.id > last_id, in_gaps(gaps))))
    return tally(r[1:] for r in rows if r.type == type_)


def _within(day: date, first: date | None, last: date | None) -> bool:
    return (first is None or day >= first) and (last is None or day <= last)

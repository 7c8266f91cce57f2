"""The history folded into per (type, state, day) roll-ups, incrementally, by the workers.

Why the workers and not the write path: a roll-up row per (type, state, day) is shared by
every writer of that state that day, so keeping it in the write transaction would make
concurrent transitions queue on it; the history row already carries all a report needs
(``seconds_in_previous``), so folding it later loses nothing. Reports stay exact anyway:
they add the unfolded tail of the history at query time (snapshot.py).

A history row counts as an *entry* into its new status on its day when the status changed
(or the entity was created), and, when it left a status after a known stay, as an *exit*
from the old status with that stay in the histogram (histogram.py). Edits that keep the
status count as neither.

Folding (``fold``) runs under the ``reports-fold`` lease, one chunk of history rows per
transaction, oldest id first, so the first fold over a large existing history (the backfill)
commits as it goes and a restart resumes where it stopped. Each chunk renews the lease and
holds the watermark row locked to its commit, so folds never overlap and no row is counted
twice; the roll-ups are added to (``n = n + excluded.n``), never read back. History ids are
handed out before their transactions commit: on PostgreSQL a row may appear below ids already
folded. Ids skipped that way next to recent rows are kept as *gaps* for ``GAP_HORIZON`` and
folded when their rows appear (reports read them with the tail). A transaction that stays
open longer than that after writing history is the one case a roll-up misses; ``rebuild``
counts everything again.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from webapp.core.base import lease
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.upserts import insert_for, insert_ignore
from webapp.core.reports import histogram
from webapp.models import (
    Entity,
    ReportStateDay,
    ReportStayBucket,
    ReportStayTotal,
    ReportWatermark,
    StatusChange,
)

WATERMARK = "history"
LEASE = "reports-fold"
LEASE_TTL = timedelta(minutes=2)
#: History rows per fold transaction.
CHUNK = 20_000
#: How long an id missing below the watermark may still turn up (its transaction commits).
GAP_HORIZON = timedelta(minutes=10)
#: At most this many gap ranges are kept (the oldest go first).
GAPS_MAX = 200

Key = tuple[str, str, date]  # (type, state, day)


@dataclass
class Tally:
    """Entries into a state, and the stays in it that ended (count, longest, histogram)."""

    entries: int = 0
    exits: int = 0
    max_seconds: float | None = None
    buckets: Counter[int] = field(default_factory=Counter)

    def stay(self, seconds: float) -> None:
        self.exits += 1
        self.buckets[histogram.bucket(seconds)] += 1
        self.longest(seconds)

    def longest(self, seconds: float | None) -> None:
        if seconds is not None and (self.max_seconds is None or seconds > self.max_seconds):
            self.max_seconds = seconds

    def add(self, other: Tally) -> None:
        self.entries += other.entries
        self.exits += other.exits
        self.buckets.update(other.buckets)
        self.longest(other.max_seconds)


def tally(rows: Iterable[Sequence[Any]], into: dict[Key, Tally] | None = None) -> dict[Key, Tally]:
    """Fold history rows ``(type, old_status, new_status, seconds_in_previous, created_at)``."""
    out: dict[Key, Tally] = {} if into is None else into
    for type_, old, new, seconds, created_at in rows:
        if old == new:
            continue
        day = created_at.date()
        key = (type_, new, day)
        (out.get(key) or out.setdefault(key, Tally())).entries += 1
        if old is not None and seconds is not None:
            key = (type_, old, day)
            (out.get(key) or out.setdefault(key, Tally())).stay(max(0.0, seconds))
    return out


#: The entity's type, looked up by its key for each history row: a join would let the
#: planners walk or hash every entity (SQLite by the type's index, PostgreSQL by a parallel
#: scan) to meet a few thousand history rows.
_TYPE = select(Entity.type).where(Entity.id == StatusChange.entity_id).scalar_subquery()
#: What ``tally`` reads of a history row, after its id.
HISTORY_ROW = (StatusChange.id, _TYPE.label("type"), StatusChange.old_status,
               StatusChange.new_status, StatusChange.seconds_in_previous,
               StatusChange.created_at)


def history(*where: Any) -> Any:
    """History rows with their entity's type, in the shape ``tally`` reads after the id."""
    return select(*HISTORY_ROW).where(*where)


def in_gaps(gaps: Sequence[Sequence[Any]]) -> Any:
    return or_(*(StatusChange.id.between(g[0], g[1]) for g in gaps)) if gaps else false()


# ------------------------------------------------------------------ folding


def fold(session: Session, clock: Callable[[], datetime], holder: str, *, chunk: int = CHUNK,
         stopping: Callable[[], bool] = lambda: False) -> int:
    """Fold the history not folded yet, chunk by chunk, under the lease; returns the rows
    folded (0 when another process holds the lease: it is folding)."""
    if not lease.acquire(session, LEASE, holder, clock(), LEASE_TTL):
        return 0
    total = 0
    try:
        while not stopping():
            found, new = fold_chunk(session, clock(), holder, chunk)
            total += found + new
            if new < chunk:
                break
    except lease.LeaseLost:
        pass  # ours ran out and another holder took over: it goes on from the watermark
    finally:
        lease.release(session, LEASE, holder)
    return total


def fold_chunk(session: Session, now: datetime, holder: str, size: int = CHUNK
               ) -> tuple[int, int]:
    """One transaction: the rows that filled gaps and up to ``size`` rows past the watermark
    added to the roll-ups, the watermark moved; returns (gap rows, new rows). The caller
    holds the lease (renewed here); the watermark row stays locked to the commit."""
    with write_transaction(session):
        lease.keep(session, LEASE, holder, now, LEASE_TTL)
        mark = _locked_watermark(session)
        found = list(session.execute(history(in_gaps(mark.gaps)))) if mark.gaps else []
        new = list(session.execute(history(StatusChange.id > mark.last_id)
                                   .order_by(StatusChange.id).limit(size)))
        gaps = _gaps_after(mark.gaps, {r.id for r in found}, mark.last_id, new, now)
        if found or new or gaps != mark.gaps:
            session.execute(update(ReportWatermark).where(ReportWatermark.name == WATERMARK)
                            .values(last_id=new[-1].id if new else mark.last_id, gaps=gaps,
                                    version=mark.version + 1, folded_at=now))
            _add(session, tally(r[1:] for r in [*found, *new]))
    return len(found), len(new)


def rebuild(session: Session, clock: Callable[[], datetime], holder: str) -> int:
    """Forget the roll-ups and fold the whole history again (under the lease); returns the
    rows folded, or 0 when another process holds the lease."""
    if not lease.acquire(session, LEASE, holder, clock(), LEASE_TTL):
        return 0
    with write_transaction(session):
        for model in (ReportStayBucket, ReportStayTotal, ReportStateDay, ReportWatermark):
            session.execute(delete(model))
    return fold(session, clock, holder)


def _locked_watermark(session: Session) -> Any:
    insert_ignore(session, ReportWatermark, [{"name": WATERMARK, "last_id": 0, "gaps": [],
                                              "version": 0}], ["name"])
    w = ReportWatermark.__table__
    return session.execute(select(w.c.last_id, w.c.gaps, w.c.version)
                           .where(w.c.name == WATERMARK).with_for_update()).one()


def _gaps_after(gaps: list[list[Any]], found: set[int], last_id: int, new: Sequence[Any],
                now: datetime) -> list[list[Any]]:
    """The gaps still open: old ones less the ids that turned up (until GAP_HORIZON has
    passed since they were seen), and the ids skipped among ``new`` next to a recent row
    (next to an old one the id was never used, or its entity was deleted)."""
    recent = now - GAP_HORIZON
    kept: list[list[Any]] = []
    for first, last, seen in gaps:
        if datetime.fromisoformat(seen) >= recent:
            kept += [[a, b, seen] for a, b in _missing(first, last, found)]
    previous = last_id
    for row in new:
        if row.id > previous + 1 and row.created_at >= recent:
            kept.append([previous + 1, row.id - 1, now.isoformat()])
        previous = row.id
    return kept[-GAPS_MAX:]


def _missing(first: int, last: int, found: set[int]) -> list[tuple[int, int]]:
    """The runs of ids from ``first`` to ``last`` not in ``found``."""
    runs, start = [], first
    for i in sorted(i for i in found if first <= i <= last):
        if i > start:
            runs.append((start, i - 1))
        start = i + 1
    if start <= last:
        runs.append((start, last))
    return runs


def _add(session: Session, tallies: dict[Key, Tally]) -> None:
    """Add the tallies to the roll-up rows, in the database (nothing read back)."""
    d = ReportStateDay.__table__
    days = insert_for(session, ReportStateDay)
    days = days.on_conflict_do_update(index_elements=["type", "state", "day"], set_={
        "entries": d.c.entries + days.excluded.entries, "exits": d.c.exits + days.excluded.exits,
        "max_seconds": case((days.excluded.max_seconds > func.coalesce(d.c.max_seconds, -1.0),
                             days.excluded.max_seconds), else_=d.c.max_seconds)})
    totals: Counter[tuple[str, str, int]] = Counter()
    for (type_, state, _day), t in tallies.items():
        for bucket, n in t.buckets.items():
            totals[(type_, state, bucket)] += n
    _write(session, days, [{"type": k[0], "state": k[1], "day": k[2], "entries": t.entries,
                            "exits": t.exits, "max_seconds": t.max_seconds}
                           for k, t in tallies.items()])
    _write(session, _adding_n(session, ReportStayBucket, ["type", "state", "day", "bucket"]),
           [{"type": k[0], "state": k[1], "day": k[2], "bucket": bucket, "n": n}
            for k, t in tallies.items() for bucket, n in t.buckets.items()])
    _write(session, _adding_n(session, ReportStayTotal, ["type", "state", "bucket"]),
           [{"type": k[0], "state": k[1], "bucket": k[2], "n": n} for k, n in totals.items()])


def _adding_n(session: Session, model: Any, key: list[str]) -> Any:
    stmt = insert_for(session, model)
    return stmt.on_conflict_do_update(index_elements=key,
                                      set_={"n": model.__table__.c.n + stmt.excluded.n})


def _write(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    # In key order: two writers' row locks are then never taken in opposite orders.
    rows.sort(key=lambda r: tuple(str(v) for v in r.values()))
    for part in chunked(rows, 5000):
        session.connection().execute(statement, list(part))

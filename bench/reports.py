"""Reports at scale (issue 16): time in state and throughput over 1,000,000 entities and their
history, read from the roll-ups, beside the naive queries over the history in the same run.

On a database seeded with the demo data (bench/list_page.py's ``populate``), migrated to head:

1. the roll-ups are rebuilt from nothing (``rollup.rebuild``: the backfill a first fold
   does, chunk by chunk), timed;
2. ``--tail`` history rows are added after the fold (moves of random properties, written as
   the seed writes history), so every report also reads an unfolded tail, as between two
   worker ticks;
3. each report's core function is timed ``--runs`` times per case (p50 / p95), and the naive
   query over ``status_changes`` (GROUP BY, every stay's length fetched and sorted) a few
   times; both answers are compared (entries equal, percentiles within 1 %).

    .venv/bin/python -m bench reports 1000000 --keep /tmp/bench-1m   # seeds once, minutes
    .venv/bin/python -m bench reports 1000000 --postgres
"""
from __future__ import annotations

import math
import os
import platform
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, text

from bench import targets
from bench.search import percentile

TYPES = ("property", "ticket", "work_order")


def _timed(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def add_tail(session, n: int, now, rnd: random.Random) -> None:
    """``n`` history rows after the last fold: properties moved now (as the seed writes)."""
    from webapp.models import Entity, StatusChange

    ids = list(session.scalars(select(Entity.id).where(Entity.type == "property").limit(50_000)))
    moves = [("available", "pending"), ("pending", "reserved"), ("reserved", "under_contract")]
    rows = []
    for _ in range(n):
        old, new = rnd.choice(moves)
        rows.append({"entity_id": rnd.choice(ids), "old_status": old, "new_status": new,
                     "action": "bench", "reason": None, "actor": "bench", "source": "api",
                     "correlation_id": str(uuid.uuid4()), "metadata": {},
                     "seconds_in_previous": rnd.uniform(60, 90 * 86400), "created_at": now})
    session.execute(insert(StatusChange.__table__), rows)
    session.commit()


def naive_time_in_state(session, type_: str, states) -> dict[str, tuple]:
    """Entries, p50, p90, max per state straight from the history (every stay fetched)."""
    from webapp.models import Entity
    from webapp.models import StatusChange as H

    joined = select().select_from(H).join(Entity, Entity.id == H.entity_id).where(Entity.type == type_)
    entries = dict(session.execute(joined.add_columns(H.new_status, func.count()).where(
        (H.old_status.is_(None)) | (H.old_status != H.new_status)).group_by(H.new_status)).all())
    stays: dict[str, list[float]] = {}
    for old, seconds in session.execute(joined.add_columns(H.old_status, H.seconds_in_previous)
                                        .where(H.old_status != H.new_status,
                                               H.seconds_in_previous.is_not(None))):
        stays.setdefault(old, []).append(seconds)
    out = {}
    for s in states:
        got = sorted(stays.get(s, []))
        pick = (lambda p, got=got: got[max(1, math.ceil(p * len(got))) - 1] / 3600 if got else None)
        out[s] = (entries.get(s, 0), pick(0.5), pick(0.9), got[-1] / 3600 if got else None)
    return out


def naive_throughput(session, type_: str, first: date) -> dict[tuple[str, str], int]:
    from webapp.models import Entity
    from webapp.models import StatusChange as H

    day = func.date(H.created_at)
    rows = session.execute(select(day, H.new_status, func.count()).join(
        Entity, Entity.id == H.entity_id).where(
        Entity.type == type_, H.created_at >= datetime.combine(first, datetime.min.time(), UTC),
        (H.old_status.is_(None)) | (H.old_status != H.new_status)).group_by(day, H.new_status))
    return {(str(d), s): n for d, s, n in rows}


def check(session, wf, rows) -> str:
    """The roll-ups' answer against the naive one: entries equal, percentiles within 1 %."""
    naive = naive_time_in_state(session, wf.entity_type, wf.states)
    for r in rows:
        entries, p50, p90, top = naive[r.state]
        assert r.entries == entries, (r.state, r.entries, entries)
        for got, exact in ((r.p50_hours, p50), (r.p90_hours, p90), (r.max_hours, top)):
            assert (got is None) == (exact is None), (r.state, got, exact)
            if exact:
                assert abs(got - exact) <= 0.0101 * exact + 0.0005, (r.state, got, exact)
    return "answers agree"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load}"


def run(session, runs: int, tail: int, where: str) -> None:
    from webapp.core.changes.manager import StateManager
    from webapp.core.reports import queries, rollup
    from webapp.models import StatusChange, utcnow

    workflows = StateManager.get_instance().workflows.all(session)
    history = session.scalar(select(func.count()).select_from(StatusChange))
    started = time.perf_counter()
    folded = rollup.rebuild(session, utcnow, "bench")
    took = time.perf_counter() - started
    print(f"\n{where}: {history:,} history rows; backfill folded {folded:,} rows in {took:.1f} s "
          f"({folded / took:,.0f} rows/s, chunks of {rollup.CHUNK:,})")
    add_tail(session, tail, utcnow(), random.Random(3))
    print(f"  + {tail:,} history rows after the fold (read as the unfolded tail)")
    today = utcnow().date()
    print("  case                                     roll-ups p50 / p95 ms     naive p50 / p95 ms")
    worst, naive_worst = 0.0, 0.0
    for type_ in TYPES:
        wf = workflows[type_]
        cases = [
            ("time in state, all days", lambda wf=wf: queries.time_in_state(session, wf),
             lambda wf=wf: naive_time_in_state(session, wf.entity_type, wf.states)),
            ("time in state, last 30 days",
             lambda wf=wf: queries.time_in_state(session, wf, today - timedelta(days=29), today),
             None),
            ("throughput, 30 days", lambda wf=wf: queries.throughput(session, wf, 30, today),
             lambda wf=wf: naive_throughput(session, wf.entity_type, today - timedelta(days=29))),
            ("throughput, 366 days", lambda wf=wf: queries.throughput(session, wf, 366, today),
             lambda wf=wf: naive_throughput(session, wf.entity_type, today - timedelta(days=365))),
            ("stuck list", lambda wf=wf: queries.stuck(session, wf, utcnow()), None),
        ]
        for label, fast, naive in cases:
            t = _timed(fast, runs)
            session.rollback()
            n = _timed(naive, max(3, runs // 10)) if naive else None
            session.rollback()
            slow = f"{percentile(n, 50):9.1f} / {percentile(n, 95):9.1f}" if n else "        -"
            worst = max(worst, percentile(t, 95))
            naive_worst = max(naive_worst, percentile(n, 95) if n else 0.0)
            print(f"  {type_:11} {label:29} {percentile(t, 50):8.1f} / {percentile(t, 95):7.1f}"
                  f"      {slow}")
        print(f"  {type_:11} {check(session, wf, queries.time_in_state(session, wf))}")
        session.rollback()
    print(f"  machine: {machine()}")
    targets.record(f"reports over {history:,} history rows, {where}",
                   f"{worst:.0f} ms p95 (slowest)", f"naive {naive_worst:.0f} ms p95",
                   "< 1,000 ms p95", worst < 1000, worst / naive_worst if naive_worst else None)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from flask_migrate import upgrade

    from bench.list_page import opened_app
    from webapp.extensions import db

    parser = argparse.ArgumentParser()
    parser.add_argument("--tail", type=int, default=5_000)
    extra, _ = parser.parse_known_args(argv)
    with opened_app("reports", argv, __doc__, runs=30) as (app, args):
        if app is None:
            return 0
        with app.app_context():
            upgrade()  # a kept database from before 0017 catches up, as a deploy does
            if not args.postgres:
                db.session.execute(text("PRAGMA cache_size = -200000"))
            run(db.session, args.runs, extra.tail, "PostgreSQL" if args.postgres else "SQLite")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))

"""Timer speed: 100,000 subscriptions whose ``expires_at`` has passed, among as many that have not.

Seeds (set-based, no history) subscriptions in ``active``, the state whose timeout expires
them at ``data.expires_at`` (accounts pack), half of them due. Then, on fresh copies of that
database, measures with the caches warm as in a server:
(t) ``timers.run``: the timers' lease, the due ids from the field's index, then per chunk of
    ``timers.CHUNK`` the re-check under lock, the StateManager's plan (workflow, role,
    comment, rules, validators), entities, history, outbox and counts through the write path,
    one audit row per chunk, the lease kept inside each chunk's transaction;
(f) its raw-SQL floor on another fresh copy: the same due ids read through the same
    expression, then the same writes in the same chunks through the driver (executemany
    UPDATE of the entities, INSERT of their history and outbox rows, a commit per chunk),
    with no checks, no payloads built, no counts and no audit.
Each is run ``--repeat`` times (a fresh copy each); the medians are reported, and (f)/(t) as
the share of the floor's speed the timers reach (the goal: at least 50 %).
Run with ``python -m bench timers [--entities N] [--due N] [--repeat N] [--postgres]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import create_engine, text

from bench import seeding, targets
from webapp.core.base.events import idempotency_key

ENTITIES, DUE, REPEAT = 200_000, 100_000, 3
SEED_CHUNK = 50_000
_COLUMNS = ("id", "type", "name", "status", "version", "data", "last_activity_at",
            "status_changed_at", "created_at", "updated_at")


def _rows(total: int, due: int, now: datetime, sqlite: bool):
    stamp = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda t: t)
    naive = now.replace(tzinfo=None)
    born = stamp(naive - timedelta(days=400))
    for n in range(1, total + 1):
        # ``due`` of them spread evenly, expired over the past year; the rest expire next year
        is_due = (n * due) // total != ((n - 1) * due) // total
        days = -(1 + n % 360) if is_due else 1 + n % 360
        expires = (naive + timedelta(days=days, minutes=n % 1440)).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield (n, "subscription", f"Subscription {n}", "active", 1,
               json.dumps({"expires_at": expires, "plan": "PRO"}), born, born, born, born)


def seed(url: str, total: int, due: int, now: datetime) -> None:
    """The schema, the packs (with their field indexes: ANALYZE then knows them), and the
    subscriptions through the raw driver (seeding is not timed)."""
    seeding.seed(url, now, _COLUMNS, lambda sqlite: _rows(total, due, now, sqlite), SEED_CHUNK,
                 analyze_sqlite=True)


def measure(url: str, now: datetime) -> tuple[object, tuple[float, float]]:
    from webapp.core.timing import timers

    with seeding.warm(url, now) as (session, sm):
        return seeding.timed(lambda: timers.run(session, sm, lambda: now))


def floor(url: str, now: datetime) -> tuple[tuple[float, float], int]:
    """(wall, CPU) seconds of the due ids' read and the writes alone, through the driver."""
    from webapp.core.fields import columns
    from webapp.core.timing import timers
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    dialect = engine.dialect.name
    sqlite = dialect == "sqlite"
    mark, at = ("?" if sqlite else "%s"), now.replace(tzinfo=None)
    stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at
    cid = str(uuid.uuid4())
    from webapp.core.fields.spec import FieldSpec

    expr = columns.sql(dialect, "expires_at", FieldSpec(type="datetime"))
    due_sql = text(f"SELECT id FROM entities WHERE {columns.type_literal(dialect, 'subscription')}"
                   f" AND status = 'active' AND {expr} <= :cut ORDER BY id")
    update, history, outbox = seeding.write_statements(mark)
    payload = '{"event": "StatusChanged", "entity_id": %d, "new_status": "expired"}'
    raw = engine.raw_connection()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        with engine.connect() as conn:
            ids = list(conn.execute(due_sql, {"cut": timers.field_cutoff("datetime", now)})
                       .scalars())
        cursor = raw.cursor()
        for i in range(0, len(ids), timers.CHUNK):
            chunk = ids[i:i + timers.CHUNK]
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(update, [("expired", stamp, stamp, e) for e in chunk])
            cursor.executemany(history, [(e, "active", "expired", "expire", "timer", "timer", cid,
                                          "{}", 0.0, stamp) for e in chunk])
            cursor.executemany(outbox, [("StatusChanged", e, payload % e, idempotency_key(),
                                         stamp, "pending", 0, stamp) for e in chunk])
            raw.commit()
        elapsed = time.perf_counter() - start, time.process_time() - cpu
    finally:
        raw.close()
        engine.dispose()
    return elapsed, len(ids)


def run_on(name: str, seeded: str, fresh, args: argparse.Namespace) -> None:
    from webapp.models import utcnow

    now = utcnow()
    started = time.perf_counter()
    seed(seeded, args.entities, args.due, now)
    print(f"{name}: seeded {args.entities:,} subscriptions in "
          f"{time.perf_counter() - started:.0f} s")
    floors, runs = [], []
    for _ in range(args.repeat):  # the floor first each time: the timers get no warmer caches
        floor_s, due = floor(fresh(), now)
        report, took = measure(fresh(), now)
        assert report.fired == due == args.due, (report.fired, due, args.due)
        floors.append(floor_s)
        runs.append(took)
    f = tuple(statistics.median(x[i] for x in floors) for i in (0, 1))
    t = tuple(statistics.median(x[i] for x in runs) for i in (0, 1))
    print(f"{name}: {args.entities:,} subscriptions, {args.due:,} due; medians of {args.repeat}")
    print(f"  (t) timers.run       : {seeding.secs(t)}  ({args.due / t[0]:,.0f} timers/s)")
    print(f"  (f) raw-SQL floor    : {seeding.secs(f)}  ({args.due / f[0]:,.0f} /s)")
    print(f"  (f) / (t)            : {100 * f[0] / t[0]:.0f} % of the floor's speed (wall), "
          f"{100 * f[1] / max(t[1], 1e-9):.0f} % (CPU)")
    print(f"  load average now     : {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    targets.record(f"{args.due:,} due timers, {name}", f"{args.due / t[0]:,.0f}/s",
                   f"floor {args.due / f[0]:,.0f}/s", ">= 50 % of the floor",
                   f[0] / t[0] >= 0.5, f[0] / t[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench timers",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=ENTITIES)
    parser.add_argument("--due", type=int, default=DUE)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--dir", default=None, help="where the SQLite files go (default: temp)")
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    seeding.sqlite_then_postgres("timers", args, run_on)
    return 0


if __name__ == "__main__":
    sys.exit(main())

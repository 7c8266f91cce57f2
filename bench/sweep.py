"""Sweep speed: 1,000,000 real-estate entities of which 100,000 are past their grace period.

Seeds (set-based, no history) into the production schema: builders, communities, properties and
sales reps in the proportions of the demo data, every one old enough for the workflow's rules;
100,000 of them quiet past their type's grace period (to be made inactive) and 50,000 past the
warning period only (to be warned). Then measures, with the caches warm as in a server:
(a) a dry run (what the sweeps page previews and the forecast runs),
(b) the real run: lease, 100,000 inactivations through the StateManager's plan/apply in
    chunks of ``sweep.CHUNK`` (rule checks, entities, history, outbox, one audit row per
    chunk), 50,000 warnings (warned_at + one EntityWarned event each), the SweepRun record,
(c) the same sweep again (idempotent: nothing is due, only the index reads remain),
beside (f) its raw-SQL floor on a fresh copy of the same database: the due ids read from the
index, then the same writes in the same chunks through the driver (executemany UPDATE of the
entities, INSERT of their history and outbox rows, warned_at and the warning events, a commit
per chunk), with no rule checks, no payloads built and no audit.
Run with ``python -m bench sweep [--entities N] [--due N] [--postgres] [--keep FILE]
[--chunk N]``.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import seeding, targets
from webapp.core.base.events import idempotency_key

ENTITIES, DUE, WARNED = 1_000_000, 100_000, 50_000
#: Share of the entities per type (as the demo data), with (grace, warning) days.
TYPES = {"builder": (0.02, 90, 60), "community": (0.08, 180, 120), "property": (0.80, 60, 45),
         "sales_rep": (0.10, 60, 45)}
WATCHED = {"builder": "active", "community": "active", "property": "available",
           "sales_rep": "active"}
CHUNK = 50_000


_COLUMNS = ("id", "type", "name", "status", "version", "data", "last_activity_at",
            "status_changed_at", "created_at", "updated_at")


def _rows(total: int, due: int, warned: int, now: datetime, sqlite: bool):
    """Entity rows as tuples: ``due`` quiet past grace, ``warned`` past warning only, the rest
    recent. Times are naive UTC (as the models store them); SQLite gets its text form."""
    rnd = random.Random(7)
    kinds = ["due"] * due + ["warn"] * warned + ["fresh"] * (total - due - warned)
    rnd.shuffle(kinds)
    stamp = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda t: t)
    now = now.replace(tzinfo=None)
    born = stamp(now - timedelta(days=800))
    n = 0
    for type_, (share, grace, warning) in TYPES.items():
        for _ in range(round(total * share)):
            kind = kinds[n] if n < len(kinds) else "fresh"
            n += 1
            quiet = {"due": rnd.uniform(grace, grace + 300), "warn": rnd.uniform(warning, grace - 1),
                     "fresh": rnd.uniform(0, warning - 1)}[kind]
            yield (n, type_, f"{type_} {n}", WATCHED[type_], 1, "{}",
                   stamp(now - timedelta(days=quiet)), born, born, born)


def seed(url: str, total: int, due: int, warned: int, now: datetime) -> None:
    """The schema, the packs, and the entities through the raw driver (seeding is not timed)."""
    seeding.seed(url, now, _COLUMNS, lambda sqlite: _rows(total, due, warned, now, sqlite), CHUNK)


def measure(url: str, now: datetime) -> dict[str, object]:
    from webapp.core.sweeps import runs as sweep_runs
    from webapp.core.sweeps.sweep import sweep

    with seeding.warm(url, now) as (session, sm):
        dry, dry_s = seeding.timed(lambda: sweep(session, sm, now, dry_run=True))
        real, real_s = seeding.timed(lambda: sweep_runs.run(session, sm, lambda: now))
        again, again_s = seeding.timed(lambda: sweep_runs.run(session, sm, lambda: now))
    assert (dry.inactivated, dry.warned) == (real.inactivated, real.warned), "dry != real"
    assert again.inactivated == again.warned == 0, "the second sweep should find nothing"
    return {"dry": dry, "dry_s": dry_s, "real": real, "real_s": real_s, "again_s": again_s}


def floor(url: str, now: datetime) -> tuple[tuple[float, float], int, int]:
    """(wall, CPU) seconds of the sweep's writes alone, through the raw driver (see above),
    and how many it made inactive and warned."""
    from webapp.core.sweeps import sweep as sweep_module
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    mark, at = ("?" if sqlite else "%s"), now.replace(tzinfo=None)
    stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at
    cid = "00000000-0000-4000-8000-000000000000"
    update, history, outbox = seeding.write_statements(mark)
    warned = f"UPDATE entities SET warned_at={mark} WHERE id={mark}"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        start, cpu = time.perf_counter(), time.process_time()
        # Timed: a sweep has to find who is due before it writes (the sweep's own run reads
        # them too); before 2026-12-02 the floor left this read out.
        due, warn = _due_ids(engine, now)
        for ids, writes in ((due, _inactivations), (warn, _warnings)):
            for at_ in range(0, len(ids), sweep_module.CHUNK):
                if sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                for sql, rows in zip((update, history, outbox, warned),
                                     writes(ids[at_:at_ + sweep_module.CHUNK], stamp, cid)):
                    if rows:
                        cursor.executemany(sql, rows)
                raw.commit()
        elapsed = time.perf_counter() - start, time.process_time() - cpu
    finally:
        raw.close()
        engine.dispose()
    return elapsed, len(due), len(warn)


def _due_ids(engine, now: datetime) -> tuple[list[int], list[int]]:
    """Ids past grace, and past warning only, per type, from the (type, last_activity_at) index."""
    sqlite = engine.dialect.name == "sqlite"
    stamp = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if sqlite else (lambda t: t)
    quiet = text("SELECT id FROM entities WHERE type = :t AND last_activity_at <= :cut "
                 "AND last_activity_at > :after ORDER BY id")
    due, warn = [], []
    with engine.connect() as conn:
        for type_, (_share, grace, warning) in TYPES.items():
            grace_cut, warning_cut = (stamp(now.replace(tzinfo=None) - timedelta(days=days))
                                      for days in (grace, warning))
            due += conn.execute(quiet, {"t": type_, "cut": grace_cut,
                                        "after": stamp(datetime(1970, 1, 1))}).scalars()
            warn += conn.execute(quiet, {"t": type_, "cut": warning_cut,
                                         "after": grace_cut}).scalars()
    return due, warn


def _inactivations(ids: list[int], stamp, cid: str) -> tuple[list, ...]:
    payload = '{"event": "StatusChanged", "entity_id": %d, "new_status": "inactive"}'
    return ([("inactive", stamp, stamp, i) for i in ids],
            [(i, "active", "inactive", "deactivate", "sweeper", "sweep", cid, "{}", 0.0, stamp)
             for i in ids],
            [("StatusChanged", i, payload % i, idempotency_key(), stamp, "pending", 0, stamp)
             for i in ids], [])


def _warnings(ids: list[int], stamp, cid: str) -> tuple[list, ...]:
    payload = '{"event": "EntityWarned", "entity_id": %d, "days_quiet": 50}'
    return ([], [], [("EntityWarned", i, payload % i, idempotency_key(), stamp, "pending", 0, stamp)
                     for i in ids], [(stamp, i) for i in ids])


def report(name: str, total: int, r: dict) -> None:
    real = r["real"]
    print(f"{name}: {total:,} entities ({real.scanned:,} watched), sweep at one moment")
    dry, done = r["dry"], real.inactivated + real.warned
    print(f"  (a) dry run            : {seeding.secs(r['dry_s'])}  ({dry.inactivated:,} would go "
          f"inactive, {dry.warned:,} would be warned)")
    print(f"  (b) real run           : {seeding.secs(r['real_s'])}  "
          f"({real.inactivated:,} made inactive, {real.warned:,} warned, {real.refused:,} refused; "
          f"{done / r['real_s'][0]:,.0f} entities/s)")
    print(f"  (c) again, nothing due : {seeding.secs(r['again_s'])}")
    floor_s = r["floor_s"]
    print(f"  (f) raw-SQL floor      : {seeding.secs(floor_s)}  (the same writes, nothing else)")
    print(f"  (b) / (f)              : {r['real_s'][0] / floor_s[0]:.1f}x wall, "
          f"{r['real_s'][1] / max(floor_s[1], 1e-9):.1f}x CPU")
    print(f"  load average now       : {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    times = r["real_s"][1] / max(floor_s[1], 1e-9)
    targets.record(f"sweep, {total:,} entities, {name}", f"{r['real_s'][1]:.1f} s CPU",
                   f"floor {floor_s[1]:.1f} s CPU", "<= 1.25x the floor", times <= 1.25, times)


def run_on(name: str, seeded: str, fresh, args: argparse.Namespace) -> None:
    """Seed ``seeded`` (a URL) unless ``--keep`` has it, then sweep one ``fresh()`` copy and
    run the floor on another. The floor goes first, so the sweep gets no warmer caches."""
    from webapp.models import utcnow

    now = utcnow()
    kept = Path(args.keep) if args.keep and seeded.startswith("sqlite") else None
    if kept and kept.exists():  # a pristine copy from an earlier run, with its moment
        now = datetime.fromisoformat(Path(f"{kept}.now").read_text())
        shutil.copyfile(kept, seeded.removeprefix("sqlite:///"))
        print(f"{name}: {args.entities:,} entities copied from {kept} (seeded at {now:%H:%M})")
    else:
        started = time.perf_counter()
        seed(seeded, args.entities, args.due, args.warned, now)
        print(f"{name}: seeded {args.entities:,} entities in {time.perf_counter() - started:.0f} s")
        if kept:
            shutil.copyfile(seeded.removeprefix("sqlite:///"), kept)
            Path(f"{kept}.now").write_text(now.isoformat())
    floor_s, inactivated, warned = floor(fresh(), now)
    result = measure(fresh(), now)
    assert (inactivated, warned) == (result["real"].inactivated, result["real"].warned)
    report(name, args.entities, {**result, "floor_s": floor_s})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sweep", description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=ENTITIES)
    parser.add_argument("--due", type=int, default=DUE)
    parser.add_argument("--warned", type=int, default=WARNED)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--dir", default=None, help="where the SQLite file goes (default: temp)")
    parser.add_argument("--keep", default=None, metavar="FILE",
                        help="keep the seeded SQLite database in FILE and reuse it next time "
                             "(seeding 1,000,000 takes minutes); each run sweeps a copy")
    parser.add_argument("--chunk", type=int, default=None,
                        help="entities per write transaction (default: the sweep's CHUNK)")
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    if args.chunk:
        from webapp.core.sweeps import sweep as sweep_module

        sweep_module.CHUNK = args.chunk
    seeding.sqlite_then_postgres("sweep", args, run_on)
    return 0


if __name__ == "__main__":
    sys.exit(main())

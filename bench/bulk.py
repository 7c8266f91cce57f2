"""Bulk transition speed: the core with full semantics against a raw-SQL floor.

Seeds 50,000 builders (created 100 days ago, all ``active``) into a database made by the real
migrations, then moves 10,000 scattered ids to ``inactive`` (the ``deactivate`` transition
has a ``min_age`` rule, so every item is checked by a rule):

(a) floor: one transaction of executemany UPDATE (status) + executemany INSERT (history)
    through the raw DBAPI connection; no reads, no checks, no audit, no events.
(b) core: ``bulk.run`` all or nothing: load, workflow + rules, entities, history, outbox,
    one audit record, the BulkOperation row, commit.

Then the same for a bulk update of declared fields (issue 14): 10,000 builders get a new
``contact_email`` (an ``email`` field of the pack):

(c) floor: one transaction of executemany UPDATE (data, version, updated_at) + executemany
    INSERT (history with the data diff), the JSON built in Python; no checks.
(d) core: ``bulk.run("update")`` all or nothing: load, validate every item against the type's
    declared fields, merge, diff, write entities + history + outbox, audit, commit.

Each is run RUNS times on a fresh copy of the seeded database; medians are reported.
Run with ``make bench`` or ``python -m bench bulk [--no-postgres] [--runs N]``.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert
from sqlalchemy.orm import Session

from bench import targets

ENTITIES, MOVED, RUNS = 50_000, 10_000, 3


def _schema(target: str | Engine) -> None:
    """The production schema: what the deploy step's migrations make (search triggers and
    all), so every write pays what it pays in production. ``target``: a URL or an engine."""
    import tempfile

    from bench.processes import migrate

    if isinstance(target, Engine):
        target = target.url.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="sk-bench-instance-") as instance:
        migrate(target, Path(instance))


def seed(url: str) -> list[int]:
    """Make the schema, load the packs and insert ENTITIES active builders; returns their ids."""
    from webapp.core.base.actor import SYSTEM
    from webapp.core.base.transactions import write_transaction
    from webapp.core.changes.manager import StateManager
    from webapp.core.workflows import packs
    from webapp.models import Entity, StatusChange, utcnow
    from webapp.models.engine import configure_engines

    configure_engines()
    _schema(url)
    engine = create_engine(url)
    sm, now = StateManager(), utcnow()
    born = now - timedelta(days=100)
    rows = [{"id": i, "type": "builder", "name": f"Builder {i}", "status": "active",
             "version": 1, "data": {}, "last_activity_at": born, "status_changed_at": born,
             "created_at": born, "updated_at": born} for i in range(1, ENTITIES + 1)]
    with Session(engine) as session:
        with write_transaction(session):
            packs.install_packs(session, sm.workflows, SYSTEM, now)
        session.execute(insert(Entity), rows)
        session.execute(insert(StatusChange), [{
            "entity_id": r["id"], "old_status": None, "new_status": "active", "action": "create",
            "actor": "seed", "source": "import", "correlation_id": str(uuid.UUID(int=r["id"])),
            "meta": {}, "created_at": born} for r in rows])
        session.commit()
    engine.dispose()
    return [r["id"] for r in rows]


# ------------------------------------------------------------------------ measurements


def floor(url: str, ids: list[int]) -> tuple[float, float]:
    """Seconds (wall, CPU of this process) for the raw executemany UPDATE + INSERT of history, one transaction."""
    from webapp.models import utcnow

    engine = create_engine(url)
    now, cid = utcnow().replace(tzinfo=None), str(uuid.uuid4())
    updates = [("inactive", now, now, i) for i in ids]
    history = [(i, "active", "inactive", "deactivate", "bench", "bulk", cid, "{}", now) for i in ids]
    sqlite = url.startswith("sqlite")
    mark = "?" if sqlite else "%s"
    update = (f"UPDATE entities SET status={mark}, version=version+1, status_changed_at={mark}, "
              f"updated_at={mark} WHERE id={mark}")
    insert_ = (f"INSERT INTO status_changes (entity_id, old_status, new_status, action, actor, "
               f"source, correlation_id, metadata, created_at) VALUES "
               f"({', '.join([mark] * 9)})")
    return _timed_raw(engine, [(update, updates), (insert_, history)])


def _timed_raw(engine, statements: list[tuple[str, list[tuple]]]) -> tuple[float, float]:
    """Seconds (wall, CPU) for the statements' executemany in one raw DBAPI transaction."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        start, cpu = time.perf_counter(), time.process_time()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        for sql, rows in statements:
            cursor.executemany(sql, rows)
        raw.commit()
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        raw.close()
        engine.dispose()


EMAIL = "sales@example.com"


def floor_update(url: str, ids: list[int]) -> tuple[float, float]:
    """Seconds (wall, CPU) for the raw executemany UPDATE of data + INSERT of history."""
    import json

    from webapp.models import utcnow

    engine = create_engine(url)
    now, cid = utcnow().replace(tzinfo=None), str(uuid.uuid4())
    data = json.dumps({"contact_email": EMAIL})
    diff = json.dumps({"data": {"before": {}, "after": {"contact_email": EMAIL}}})
    sqlite = url.startswith("sqlite")
    mark = "?" if sqlite else "%s"
    cast = "" if sqlite else "::jsonb"
    update = (f"UPDATE entities SET data={mark}{cast}, version=version+1, updated_at={mark} "
              f"WHERE id={mark}")
    insert_ = (f"INSERT INTO status_changes (entity_id, old_status, new_status, action, actor, "
               f"source, correlation_id, metadata, created_at) VALUES "
               f"({', '.join([mark] * 7)}, {mark}{cast}, {mark})")
    return _timed_raw(engine, [
        (update, [(data, now, i) for i in ids]),
        (insert_, [(i, "active", "active", "update", "bench", "bulk", cid, diff, now) for i in ids])])


def core_update(url: str, ids: list[int]) -> tuple[float, float]:
    """Seconds (wall, CPU) for ``bulk.run("update")`` of a declared field, full semantics."""
    return core(url, ids, update_data={"contact_email": EMAIL})


def core(url: str, ids: list[int], update_data: dict[str, Any] | None = None
         ) -> tuple[float, float]:
    """Seconds (wall, CPU of this process) for ``bulk.run`` with full semantics (caches warmed first, as in a server)."""
    from webapp.core.base.actor import Actor
    from webapp.core.bulk import operations as bulk
    from webapp.core.changes.manager import StateManager
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    sm, actor = StateManager(), Actor("bench", "admin")
    with Session(engine) as session:
        sm.workflows.all(session), sm.settings.all(session)
        session.rollback()
        request = (bulk.BulkRequest("update", tuple(ids), update_data=update_data,
                                    rollback_on_error=True) if update_data else
                   bulk.BulkRequest("transition", tuple(ids), target_state="inactive",
                                    rollback_on_error=True))
        start, cpu = time.perf_counter(), time.process_time()
        result = bulk.run(session, sm, actor, request, str(uuid.uuid4()))
        elapsed = time.perf_counter() - start, time.process_time() - cpu
    engine.dispose()
    assert result.successful_items == len(ids), result.to_dict()["failure_details"]
    return elapsed


# ------------------------------------------------------------------------------ drivers


class SqliteTarget:
    """Fresh copies of one seeded SQLite file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.template = workdir / "template.db"
        self.ids = seed(f"sqlite:///{self.template}")
        self.n = 0

    def fresh(self) -> str:
        self.n += 1
        copy = self.workdir / f"run{self.n}.db"
        shutil.copy(self.template, copy)
        return f"sqlite:///{copy}"


class PostgresTarget:
    """Fresh databases cloned from one seeded template database."""

    def __init__(self, workdir: Path) -> None:
        from tests.services import start_postgres

        self.server = start_postgres()
        self.server.create_database("bench_template")
        self.ids = seed(self.server.url("bench_template"))
        self.n = 0

    def fresh(self) -> str:
        self.n += 1
        name = f"bench_run{self.n}"
        self.server.psql(f'CREATE DATABASE "{name}" TEMPLATE bench_template')
        return self.server.url(name)

    def close(self) -> None:
        self.server.stop()


def measure(target, runs: int, moved: int, floor=floor, core=core) -> dict[str, Any]:
    """Floor and core alternate on fresh copies, so both see the same machine conditions."""
    rnd = random.Random(42)
    floors, cores = [], []
    for _ in range(runs):
        ids = rnd.sample(target.ids, moved)  # scattered: random order across the table
        floors.append(floor(target.fresh(), ids))
        cores.append(core(target.fresh(), ids))
    out: dict[str, Any] = {"floors": floors, "cores": cores}
    for n, kind in enumerate(("wall", "cpu")):
        f = statistics.median(x[n] for x in floors)
        c = statistics.median(x[n] for x in cores)
        out[kind] = {"floor_s": f, "core_s": c, "floor_per_s": moved / f, "core_per_s": moved / c,
                     "ratio": f / c}
    return out


def report(name: str, moved: int, r: dict[str, Any], out: Callable[[str], None] = print,
           what: str = "bulk transition") -> None:
    w, c = r["wall"], r["cpu"]
    out(f"{name}: {what} of {moved:,} scattered ids of {ENTITIES:,}, "
        f"median of {len(r['floors'])} runs each")
    out(f"  (a) raw SQL floor : {w['floor_s'] * 1000:7.1f} ms  {w['floor_per_s']:>8,.0f} entities/s"
        f"   (CPU {c['floor_s'] * 1000:6.1f} ms)   runs "
        f"{', '.join(f'{x[0] * 1000:.0f}' for x in r['floors'])} ms")
    out(f"  (b) core bulk     : {w['core_s'] * 1000:7.1f} ms  {w['core_per_s']:>8,.0f} entities/s"
        f"   (CPU {c['core_s'] * 1000:6.1f} ms)   runs "
        f"{', '.join(f'{x[0] * 1000:.0f}' for x in r['cores'])} ms")
    out(f"  core / floor      : {w['ratio']:.0%} wall, {c['ratio']:.0%} CPU "
        f"(target >= 50%, and >= 10,000 entities/s)")
    targets.record(f"{what}, {name}", f"{w['core_per_s']:,.0f}/s",
                   f"floor {w['floor_per_s']:,.0f}/s", ">= 50 % of the floor",
                   w["ratio"] >= 0.5, w["ratio"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench bulk", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--moved", type=int, default=MOVED)
    parser.add_argument("--no-postgres", action="store_true",
                        help="SQLite only (by default PostgreSQL runs too, where it can be started)")
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    with tempfile.TemporaryDirectory(prefix="sk-bench-") as tmp:
        work = Path(tmp)
        target = SqliteTarget(work / "sqlite")
        report("SQLite", args.moved, measure(target, args.runs, args.moved))
        report("SQLite", args.moved, measure(target, args.runs, args.moved, floor_update,
                                             core_update), what="bulk update of a declared field")
        if not args.no_postgres:
            _postgres(work / "pg", args)
    return 0


def _postgres(work: Path, args: argparse.Namespace) -> None:
    from tests.services import ServiceUnavailable

    try:
        target = PostgresTarget(work)
    except ServiceUnavailable as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        report("PostgreSQL", args.moved, measure(target, args.runs, args.moved))
        report("PostgreSQL", args.moved, measure(target, args.runs, args.moved, floor_update,
                                                 core_update),
               what="bulk update of a declared field")
    finally:
        target.close()


if __name__ == "__main__":
    sys.exit(main())

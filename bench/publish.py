"""Publishing a workflow that removes a state: the move of its entities against a raw-SQL floor.

Seeds ENTITIES / SHARE properties (spread over 100 communities of one builder), ENTITIES of
them ``reserved`` (picked at random: a state holds some of a type's entities, scattered over
the table; ``--share 1`` makes them all reserved and contiguous), the others ``available``,
into a database made by the real migrations, then publishes the property workflow without
``reserved``, mapping it to ``pending`` (issue 18):

(a) floor: one transaction of executemany UPDATE (status, version, two timestamps) plus
    executemany INSERT of the history rows through the raw DBAPI connection; the ids are
    given (not even read); no checks, no events, no audit.
(b) core: ``publish.publish`` with full semantics: the static checks, the live count of
    stranded entities, the new version saved through the registry (per-field indexes
    kept), every stranded entity read, locked and moved through the StateManager's writer
    (entities, history source ``migration``, outbox, entity counts, follow-ups), one audit
    record, the ``BulkOperation`` row for the undo, commit, in-process subscribers.

Floor and core alternate on fresh copies of the seeded database; medians of RUNS runs.
Run with ``.venv/bin/python -m bench.publish [--entities N] [--share F] [--runs N]
[--no-postgres]``.
"""
from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from bench import targets
from bench.bulk import _schema, _timed_raw

ENTITIES, SHARE, RUNS, COMMUNITIES = 100_000, 0.5, 3, 100


def seed(url: str, n: int, share: float = SHARE) -> list[int]:
    """Migrated schema, the packs, a builder, COMMUNITIES communities and ``n / share``
    properties, ``n`` of them reserved at random (each with its creation in the history);
    returns the reserved ones' ids, ascending."""
    from webapp.core.base.actor import SYSTEM
    from webapp.core.base.transactions import write_transaction
    from webapp.core.changes import counts
    from webapp.core.changes.manager import StateManager
    from webapp.core.workflows import packs
    from webapp.models import Entity, StatusChange, utcnow
    from webapp.models.engine import configure_engines

    configure_engines()
    _schema(url)
    engine = create_engine(url)
    sm, now = StateManager(), utcnow()
    born = now - timedelta(days=10)

    def row(i: int, type_: str, status: str, parent: int | None) -> dict[str, Any]:
        return {"id": i, "type": type_, "name": f"{type_} {i}", "status": status, "version": 1,
                "data": {}, "parent_id": parent, "last_activity_at": born,
                "status_changed_at": born, "created_at": born, "updated_at": born}

    rows = [row(1, "builder", "active", None)]
    rows += [row(1 + c, "community", "active", 1) for c in range(1, COMMUNITIES + 1)]
    first, total = COMMUNITIES + 2, round(n / share)
    reserved = set(random.Random(18).sample(range(total), n))
    rows += [row(first + i, "property", "reserved" if i in reserved else "available",
                 2 + i % COMMUNITIES) for i in range(total)]
    with Session(engine) as session:
        with write_transaction(session):
            packs.install_packs(session, sm.workflows, SYSTEM, now)
        with write_transaction(session):
            session.execute(insert(Entity), rows)
            counts.added(session, rows)
            session.execute(insert(StatusChange), [{
                "entity_id": r["id"], "old_status": None, "new_status": r["status"],
                "action": "create", "actor": "seed", "source": "import",
                "correlation_id": str(uuid.UUID(int=r["id"])), "meta": {}, "created_at": born}
                for r in rows])
    engine.dispose()
    return [r["id"] for r in rows if r["status"] == "reserved"]


def floor(url: str, ids: list[int]) -> tuple[float, float]:
    """Seconds (wall, CPU) for the raw executemany UPDATE + INSERT of history, one transaction."""
    from webapp.models import utcnow

    now, cid = utcnow().replace(tzinfo=None), str(uuid.uuid4())
    mark = "?" if url.startswith("sqlite") else "%s"
    update = (f"UPDATE entities SET status={mark}, version=version+1, status_changed_at={mark}, "
              f"updated_at={mark} WHERE id={mark}")
    history = (f"INSERT INTO status_changes (entity_id, old_status, new_status, action, actor, "
               f"source, correlation_id, metadata, created_at) VALUES ({', '.join([mark] * 9)})")
    return _timed_raw(create_engine(url), [
        (update, [("pending", now, now, i) for i in ids]),
        (history, [(i, "reserved", "pending", "migrate", "bench", "migration", cid, "{}", now)
                   for i in ids])])


def core(url: str, ids: list[int]) -> tuple[float, float]:
    """Seconds (wall, CPU) for ``publish.publish`` with full semantics (caches warmed first,
    as in a server)."""
    from webapp.core.base.actor import Actor
    from webapp.core.changes.manager import StateManager
    from webapp.core.publishing import publish, versions
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    sm, actor = StateManager(), Actor("bench", "config_editor")
    with Session(engine) as session:
        sm.workflows.all(session), sm.settings.all(session)
        doc = without_reserved(versions.in_force(session, "property").definition)
        session.rollback()
        start, cpu = time.perf_counter(), time.process_time()
        done = publish.publish(session, sm, actor, "property", doc, {"reserved": "pending"},
                               "bench: reserved is now pending")
        elapsed = time.perf_counter() - start, time.process_time() - cpu
    engine.dispose()
    assert done.moved == {"reserved": len(ids)}, done.moved
    return elapsed


def without_reserved(doc: dict[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    del new["states"]["reserved"]
    new["transitions"] = [t for t in new["transitions"] if t["name"] != "reserve"]
    for t in new["transitions"]:
        t["from"] = [s for s in t["from"] if s != "reserved"]
    return new


class Target:
    """Fresh copies of one seeded database (SQLite files, or PostgreSQL template clones)."""

    def __init__(self, workdir: Path, n: int, share: float, postgres: bool = False) -> None:
        self.n, self.server = 0, None
        if postgres:
            from tests.services import start_postgres

            self.server = start_postgres()
            self.server.create_database("bench_publish")
            self.ids = seed(self.server.url("bench_publish"), n, share)
        else:
            workdir.mkdir(parents=True, exist_ok=True)
            self.template = workdir / "template.db"
            self.ids = seed(f"sqlite:///{self.template}", n, share)

    def fresh(self) -> str:
        self.n += 1
        if self.server is not None:
            name = f"bench_publish_run{self.n}"
            self.server.psql(f'CREATE DATABASE "{name}" TEMPLATE bench_publish')
            return self.server.url(name)
        copy_ = self.template.parent / f"run{self.n}.db"
        shutil.copy(self.template, copy_)
        return f"sqlite:///{copy_}"

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def measure(name: str, target: Target, runs: int, share: float = SHARE) -> None:
    floors, cores = [], []
    for _ in range(runs):
        floors.append(floor(target.fresh(), target.ids))
        cores.append(core(target.fresh(), target.ids))
    n = len(target.ids)
    print(f"{name}: publish mapping {n:,} reserved properties (of {n / share:,.0f}) to pending, "
          f"medians of {runs} "
          f"(load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    for label, runs_ in (("(a) raw SQL floor", floors), ("(b) core publish ", cores)):
        wall = statistics.median(x[0] for x in runs_)
        cpu = statistics.median(x[1] for x in runs_)
        print(f"  {label}: {wall * 1000:8.1f} ms  {n / wall:>9,.0f} entities/s  (CPU "
              f"{cpu * 1000:7.1f} ms)  runs {', '.join(f'{x[0] * 1000:.0f}' for x in runs_)} ms")
    ratio = statistics.median(x[0] for x in floors) / statistics.median(x[0] for x in cores)
    cpu_ratio = statistics.median(x[1] for x in floors) / statistics.median(x[1] for x in cores)
    print(f"  core / floor: {ratio:.0%} wall, {cpu_ratio:.0%} CPU (target >= 50%)")
    targets.record(f"publish with a mapping of {n:,}, {name}",
                   f"{n / statistics.median(x[0] for x in cores):,.0f}/s",
                   f"floor {n / statistics.median(x[0] for x in floors):,.0f}/s",
                   ">= 50 % of the floor", ratio >= 0.5, ratio)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.publish",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--entities", type=int, default=ENTITIES)
    parser.add_argument("--share", type=float, default=SHARE,
                        help="the reserved share of the properties (1: all of them)")
    parser.add_argument("--no-postgres", action="store_true")
    args, _ = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="sk-bench-publish-") as tmp:
        measure("SQLite", Target(Path(tmp) / "sqlite", args.entities, args.share), args.runs,
                args.share)
        if not args.no_postgres:
            from tests.services import ServiceUnavailable

            try:
                target = Target(Path(tmp) / "pg", args.entities, args.share, postgres=True)
            except ServiceUnavailable as exc:
                print(f"PostgreSQL: skipped ({exc})")
                return 0
            try:
                measure("PostgreSQL", target, args.runs, args.share)
            finally:
                target.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What keeping SLA clocks costs the write path: a bulk transition of 10,000 tickets.

Seeds 50,000 ``OPEN`` tickets (their clocks running, as the demo seed makes them) and puts
10,000 scattered ones ``ONHOLD`` with ``bulk.run`` (every clock pauses: one read and one
update of each), with the clocks kept (``sla_keeping.written``) and with that call made a
no-op, alternating on fresh copies; medians are reported. bench/bulk.py's builders (a type
without SLAs) measure the other side: one cached look-up per transaction.

Run with ``python -m bench.sla_bulk [--postgres] [--runs N]``.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from bench.bulk import _schema

TICKETS, MOVED, RUNS = 50_000, 10_000, 3
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def seed(url: str) -> list[int]:
    from webapp.core.base.actor import SYSTEM
    from webapp.core.base.transactions import write_transaction
    from webapp.core.changes import counts
    from webapp.core.changes.manager import StateManager
    from webapp.core.workflows import packs, sla_keeping
    from webapp.models import Entity, utcnow
    from webapp.models.engine import configure_engines

    configure_engines()
    _schema(url)  # the migrations' schema, as bench/bulk.py makes it
    engine = create_engine(url)
    sm, now = StateManager(), utcnow()
    born = now - timedelta(hours=1)
    rows = [{"id": i, "type": "ticket", "name": f"Ticket {i}", "status": "OPEN", "version": 2,
             "data": {"priority": PRIORITIES[i % 4]}, "last_activity_at": born,
             "status_changed_at": born, "created_at": born, "updated_at": born}
            for i in range(1, TICKETS + 1)]
    with Session(engine) as session:
        with write_transaction(session):
            packs.install_packs(session, sm.workflows, SYSTEM, now)
        with write_transaction(session):
            session.execute(insert(Entity), rows)
            counts.added(session, rows)
            sla_keeping.added(session, rows, now)
    engine.dispose()
    return [r["id"] for r in rows]


def hold(url: str, ids: list[int], keep_clocks: bool) -> float:
    """Seconds for ``bulk.run`` putting ``ids`` on hold (caches warmed first, as a server's)."""
    from webapp.core.base.actor import Actor
    from webapp.core.bulk import operations as bulk
    from webapp.core.changes.manager import StateManager
    from webapp.core.workflows import sla_keeping
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    sm, actor = StateManager(), Actor("bench", "admin")
    kept = sla_keeping.written
    if not keep_clocks:
        sla_keeping.written = lambda *_: None  # type: ignore[assignment]
    try:
        with Session(engine) as session:
            sm.workflows.all(session), sm.settings.all(session)
            session.rollback()
            request = bulk.BulkRequest("transition", tuple(ids), target_state="ONHOLD",
                                       rollback_on_error=True)
            start = time.perf_counter()
            result = bulk.run(session, sm, actor, request, str(uuid.uuid4()))
            elapsed = time.perf_counter() - start
    finally:
        sla_keeping.written = kept  # type: ignore[assignment]
        engine.dispose()
    assert result.successful_items == len(ids), result.to_dict()["failure_details"]
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sla_bulk")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--postgres", action="store_true")
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    with tempfile.TemporaryDirectory() as tmp:
        fresh, ids, stop = _target(Path(tmp), args.postgres)
        rnd = random.Random(42)
        without, with_ = [], []
        try:
            for _ in range(args.runs):
                moved = rnd.sample(ids, MOVED)
                without.append(hold(fresh(), moved, keep_clocks=False))
                with_.append(hold(fresh(), moved, keep_clocks=True))
        finally:
            stop()
    a, b = statistics.median(without), statistics.median(with_)
    print(f"{'PostgreSQL' if args.postgres else 'SQLite'}: bulk hold of {MOVED:,} scattered "
          f"tickets of {TICKETS:,}, median of {args.runs} runs")
    print(f"  clocks not kept : {a * 1000:7.1f} ms  {MOVED / a:>8,.0f} entities/s   runs "
          f"{', '.join(f'{x * 1000:.0f}' for x in without)} ms")
    print(f"  clocks kept     : {b * 1000:7.1f} ms  {MOVED / b:>8,.0f} entities/s   runs "
          f"{', '.join(f'{x * 1000:.0f}' for x in with_)} ms")
    print(f"  cost of the clocks: {(b - a) * 1000:.1f} ms ({b / a - 1:+.0%})")
    return 0


def _target(workdir: Path, postgres: bool):
    if postgres:
        from tests.services import start_postgres

        server = start_postgres()
        server.create_database("sla_template")
        ids = seed(server.url("sla_template"))
        n = iter(range(1, 1000))

        def fresh_pg() -> str:
            name = f"sla_run{next(n)}"
            server.psql(f'CREATE DATABASE "{name}" TEMPLATE sla_template')
            return server.url(name)
        return fresh_pg, ids, server.stop
    template = workdir / "template.db"
    ids = seed(f"sqlite:///{template}")
    copies = iter(range(1, 1000))

    def fresh_sqlite() -> str:
        copy = workdir / f"run{next(copies)}.db"
        shutil.copy(template, copy)
        return f"sqlite:///{copy}"
    return fresh_sqlite, ids, lambda: None


if __name__ == "__main__":
    raise SystemExit(main())

"""CSV import speed (issue 15), beside the bulk update path it should come near.

Seeds 50,000 builders as ``bench/bulk.py`` does, then on fresh copies of that database:

(a) bulk update: ``bulk.run("update")`` of 10,000 scattered builders' ``contact_email``, all
    or nothing (the reference: set-based, full semantics).
(b) import, update: a CSV of the same 10,000 rows (``id,name,contact_email``, key ``id``):
    read, every row through the field kinds' text reading and the type's full check, written
    with ``StateManager.apply``, one audit record, commit.
(c) import, create: a CSV of 10,000 new builders (``name,contact_email,founded_year``, no
    key): checked a run of rows at a time and written set-based (``changes.creating``).

(d) export: every one of the 50,000 builders as CSV (``listing.iterate`` in keyset batches,
    ``csvfile.lines``), with the peak of Python memory allocated meanwhile (tracemalloc).

Each is run RUNS times; medians are reported in rows per second, from wall and from CPU time
(the machine is shared: CPU time is the steadier figure). ``--postgres`` runs (a)-(c) on
PostgreSQL too (its server's CPU time is not counted).
Run with ``python -m bench csv_import [--runs N] [--rows N] [--postgres] [--no-export]``.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bench import bulk

ROWS, RUNS = 10_000, 3


def _file(header: str, lines: list[str]) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def update_file(ids: list[int]) -> bytes:
    return _file("id,name,contact_email", [f"{i},Builder {i},{bulk.EMAIL}" for i in ids])


def create_file(n: int) -> bytes:
    return _file("name,contact_email,founded_year",
                 [f"New builder {i},office{i}@example.com,{1900 + i % 120}" for i in range(n)])


def imported(url: str, raw: bytes, key: str | None) -> tuple[float, float]:
    """Seconds (wall, CPU) for ``importing.run``, caches warmed first as in a server."""
    from webapp.core.base.actor import Actor
    from webapp.core.bulk import importing
    from webapp.core.changes.manager import StateManager
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    sm, actor = StateManager(), Actor("bench", "admin")
    with Session(engine) as session:
        sm.workflows.all(session), sm.settings.all(session)
        session.rollback()
        start, cpu = time.perf_counter(), time.process_time()
        result = importing.run(session, sm, actor, importing.ImportRequest("builder", key), raw,
                               str(uuid.uuid4()))
        elapsed = time.perf_counter() - start, time.process_time() - cpu
    engine.dispose()
    assert result.failed_items == 0 and not result.was_rolled_back, result.failure_details
    return elapsed


def exported(url: str) -> tuple[float, int, int]:
    """Seconds, rows and peak bytes allocated for exporting every builder."""
    import tracemalloc

    from webapp.blueprints.entities.transfer import csv_rows
    from webapp.core.base import csvfile
    from webapp.core.changes.manager import StateManager
    from webapp.core.lists import listing
    from webapp.models.engine import configure_engines
    from webapp.sensitive import DataView

    configure_engines()
    engine = create_engine(url)
    sm = StateManager()
    with Session(engine) as session:
        known = sm.workflows.all(session)
        shown = DataView(True, sm.keyring, known)
        def export() -> tuple[int, float]:
            rows = listing.iterate(session, sm.vocabulary, listing.Filters(type="builder"))
            start, lines = time.perf_counter(), 0
            for piece in csvfile.lines(csv_rows(known["builder"], rows, shown)):
                lines += piece.count("\n")
            session.rollback()
            return lines - 1, time.perf_counter() - start

        count, elapsed = export()
        tracemalloc.start()  # a second pass: tracing makes it several times slower
        export()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    engine.dispose()
    return elapsed, count, peak


def measure(target, runs: int, rows: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) of each run of (a), (b) and (c), each on a fresh copy of ``target``."""
    rnd = random.Random(42)
    out: dict[str, list[tuple[float, float]]] = {"bulk": [], "update": [], "create": []}
    for _ in range(runs):
        ids = rnd.sample(target.ids, rows)
        out["bulk"].append(bulk.core_update(target.fresh(), ids))
        out["update"].append(imported(target.fresh(), update_file(ids), "id"))
        out["create"].append(imported(target.fresh(), create_file(rows), None))
    return out


def report(name: str, rows: int, runs: dict[str, list[tuple[float, float]]]) -> None:
    print(f"{name}: CSV import of {rows:,} rows among {bulk.ENTITIES:,} builders, "
          f"median of {len(runs['create'])} runs each (load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    names = {"bulk": "(a) bulk update    ", "update": "(b) import, update ",
             "create": "(c) import, create "}
    for kind, label in names.items():
        wall = statistics.median(r[0] for r in runs[kind])
        cpu = statistics.median(r[1] for r in runs[kind])
        print(f"  {label}: {wall * 1000:8.1f} ms  {rows / wall:>8,.0f} rows/s   "
              f"(CPU {cpu * 1000:7.1f} ms, {rows / cpu:>7,.0f} rows/s)   runs "
              f"{', '.join(f'{r[0] * 1000:.0f}' for r in runs[kind])} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench csv_import",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--postgres", action="store_true", help="the imports on PostgreSQL too")
    parser.add_argument("--no-export", action="store_true", help="leave (d) out")
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    with tempfile.TemporaryDirectory(prefix="sk-bench-") as tmp:
        target = bulk.SqliteTarget(Path(tmp) / "sqlite")
        runs = measure(target, args.runs, args.rows)
        if not args.no_export:
            seconds, rows, peak = exported(target.fresh())
            print(f"SQLite: CSV export of {rows:,} builders: {seconds * 1000:.0f} ms, "
                  f"{rows / seconds:,.0f} rows/s, peak Python memory {peak / 1e6:.1f} MB")
        report("SQLite", args.rows, runs)
        if args.postgres:
            _postgres(Path(tmp) / "pg", args)
    return 0


def _postgres(work: Path, args: argparse.Namespace) -> None:
    from tests.services import ServiceUnavailable

    try:
        target = bulk.PostgresTarget(work)
    except ServiceUnavailable as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        # The seed gives its builders ids; creates take theirs from the sequence.
        engine = create_engine(target.server.url("bench_template"))
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('entities', 'id'), "
                                 "(SELECT max(id) FROM entities))")
        engine.dispose()
        report("PostgreSQL", args.rows, measure(target, args.runs, args.rows))
    finally:
        target.close()


if __name__ == "__main__":
    sys.exit(main())

"""CSV import speed (issue 15) on SQLite, beside the bulk update path it should come near.

Seeds 50,000 builders as ``bench/bulk.py`` does, then on fresh copies of that database:

(a) bulk update: ``bulk.run("update")`` of 10,000 scattered builders' ``contact_email``, all
    or nothing (the reference: set-based, full semantics).
(b) import, update: a CSV of the same 10,000 rows (``id,name,contact_email``, key ``id``):
    read, every row through the field kinds' text reading and the type's full check, written
    with ``StateManager.apply``, one audit record, commit.
(c) import, create: a CSV of 10,000 new builders (``name,contact_email,founded_year``, no
    key): each row created through ``changes.entities.create``.

(d) export: every one of the 50,000 builders as CSV (``listing.iterate`` in keyset batches,
    ``csvfile.lines``), with the peak of Python memory allocated meanwhile (tracemalloc).

Each is run RUNS times; medians are reported in rows per second.
Run with ``python -m bench csv_import [--runs N] [--rows N]``.
"""
from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench csv_import",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--rows", type=int, default=ROWS)
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    rnd = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="sk-bench-") as tmp:
        target = bulk.SqliteTarget(Path(tmp) / "sqlite")
        runs: dict[str, list[tuple[float, float]]] = {"bulk": [], "update": [], "create": []}
        for _ in range(args.runs):
            ids = rnd.sample(target.ids, args.rows)
            runs["bulk"].append(bulk.core_update(target.fresh(), ids))
            runs["update"].append(imported(target.fresh(), update_file(ids), "id"))
            runs["create"].append(imported(target.fresh(), create_file(args.rows), None))
        seconds, rows, peak = exported(target.fresh())
    print(f"SQLite: CSV export of {rows:,} builders: {seconds * 1000:.0f} ms, "
          f"{rows / seconds:,.0f} rows/s, peak Python memory {peak / 1e6:.1f} MB")
    print(f"SQLite: CSV import of {args.rows:,} rows among {bulk.ENTITIES:,} builders, "
          f"median of {args.runs} runs each")
    names = {"bulk": "(a) bulk update    ", "update": "(b) import, update ",
             "create": "(c) import, create "}
    for kind, label in names.items():
        wall = statistics.median(r[0] for r in runs[kind])
        cpu = statistics.median(r[1] for r in runs[kind])
        print(f"  {label}: {wall * 1000:8.1f} ms  {args.rows / wall:>8,.0f} rows/s   "
              f"(CPU {cpu * 1000:7.1f} ms)   runs "
              f"{', '.join(f'{r[0] * 1000:.0f}' for r in runs[kind])} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

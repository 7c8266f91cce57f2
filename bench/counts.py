"""Dashboard counts by type and status at 1,000,000 entities: the kept counts against the
GROUP BY they replace, in the same run, on SQLite and PostgreSQL.

Builds the models' schema (every index of ``entities``), inserts SIZE entities spread over the
packs' types and states as the demo seed spreads them (SQLite: executemany; PostgreSQL: COPY),
fills ``entity_counts`` as migration 0012 does, then measures, alternating:

(a) reference: ``SELECT type, status, count(*) FROM entities GROUP BY type, status``, what the
    dashboard ran (and cached for 30 s) before;
(b) kept: ``overview.status_counts``, what the dashboard runs now on every view;

and what keeping them adds to the write path: one two-row counts upsert per ``writer.write``.

Medians of RUNS each; target (b) < 20 ms. Run with ``python -m bench counts [--size N]
[--runs N] [--no-postgres]``.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from bench import targets

SIZE, RUNS, TARGET_MS = 1_000_000, 15, 20.0
_COLUMNS = ("type", "name", "status", "version", "data", "last_activity_at", "status_changed_at",
            "created_at", "updated_at")


def _mix() -> list[tuple[str, str, float]]:
    """(type, status, share of all entities): the demo seed's type shares and status spreads,
    the packs' states evenly where the seed has no spread."""
    from webapp.core.demo.seed import SHARES, SPREAD
    from webapp.core.workflows.registry import PACKS, load_pack

    states = {t: list(doc["states"]) for p in PACKS for t, doc in load_pack(p)["types"].items()}
    total = sum(SHARES.values())
    mix = []
    for type_, share in SHARES.items():
        spread = SPREAD.get(type_) or dict.fromkeys(states[type_], 1)
        weight = sum(spread.values())
        mix += [(type_, s, share / total * w / weight) for s, w in spread.items()]
    return mix


def _rows(size: int) -> Iterator[tuple]:
    rnd = random.Random(20)
    mix = _mix()
    picks = rnd.choices([(t, s) for t, s, _ in mix], [w for *_, w in mix], k=size)
    when = "2026-01-01 00:00:00"
    for i, (type_, status) in enumerate(picks):
        yield type_, f"{type_} {i}", status, 1, "{}", when, when, when, when


def build(engine: Engine, size: int) -> None:
    """The schema, SIZE entities and their counts (as migration 0012 fills them)."""
    from webapp.core.changes import counts  # noqa: F401 - the counts table joins the metadata
    from webapp.models import Base
    from webapp.models.engine import configure_engines

    configure_engines()
    Base.metadata.create_all(engine)
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        _copy(engine, size)
    else:
        with engine.begin() as conn:
            marks = ", ".join("?" * len(_COLUMNS))
            conn.exec_driver_sql(f"INSERT INTO entities ({', '.join(_COLUMNS)}) VALUES ({marks})",
                                 list(_rows(size)))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO entity_counts (type, status, n) "
                          "SELECT type, status, COUNT(*) FROM entities GROUP BY type, status"))
        conn.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE entities"))  # the visibility map autovacuum keeps
    print(f"  built {size:,} entities in {time.perf_counter() - started:.0f} s")


def _copy(engine: Engine, size: int) -> None:
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY entities ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for n, row in enumerate(_rows(size), 1):
                buffer.write("\t".join(map(str, row)) + "\n")
                if n % 50_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def group_by(session: Session) -> list[tuple[str, str, int]]:
    """The reference: what the dashboard ran before the counts were kept."""
    from webapp.models import Entity

    stmt = (select(Entity.type, Entity.status, func.count())
            .group_by(Entity.type, Entity.status).order_by(Entity.type, Entity.status))
    return [tuple(row) for row in session.execute(stmt)]


def _ms(session: Session, read: Callable[[Session], list]) -> float:
    session.rollback()  # each read in its own transaction, as each page view is
    start = time.perf_counter()
    read(session)
    return (time.perf_counter() - start) * 1000


def measure(engine: Engine, runs: int) -> dict[str, float]:
    from webapp.core.lists.overview import status_counts

    with Session(engine) as session:
        kept, reference = sorted(status_counts(session)), sorted(group_by(session))
        assert kept == reference, "the kept counts differ from the recount"
        group_by(session), status_counts(session)  # warm caches, as a running server's are
        refs, keeps = [], []
        for _ in range(runs):
            refs.append(_ms(session, group_by))
            keeps.append(_ms(session, status_counts))
        upsert_us = _upsert_us(session)
    return {"reference_ms": statistics.median(refs), "kept_ms": statistics.median(keeps),
            "pairs": len(kept), "upsert_us": upsert_us}


def _upsert_us(session: Session, calls: int = 300) -> tuple[float, float]:
    """Microseconds per counts upsert as ``writer.write`` makes one per call (an entity
    leaving one status for another: two rows), each in a transaction that is rolled back; and
    per ``SELECT 1``, the round trip any statement pays, for reference (medians)."""
    from webapp.core.changes.statements import statements_for

    deltas = {("property", "available"): -1, ("property", "pending"): 1}
    upserts, trips = [], []
    for _ in range(calls):  # one of each per transaction, as a command makes them
        session.rollback()
        conn = session.connection()
        sql = statements_for(conn)
        start = time.perf_counter()
        conn.exec_driver_sql("SELECT 1")
        middle = time.perf_counter()
        sql.add_counts(deltas)
        trips.append((middle - start) * 1e6)
        upserts.append((time.perf_counter() - middle) * 1e6)
    session.rollback()
    return statistics.median(upserts), statistics.median(trips)


def report(name: str, size: int, runs: int, r: dict[str, float]) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    met = "met" if r["kept_ms"] < TARGET_MS else "NOT met"
    print(f"{name}: dashboard counts at {size:,} entities ({r['pairs']} type/status pairs), "
          f"median of {runs} (load average {load})")
    print(f"  (a) GROUP BY over every entity : {r['reference_ms']:8.2f} ms")
    print(f"  (b) kept counts                : {r['kept_ms']:8.2f} ms   "
          f"target < {TARGET_MS:.0f} ms: {met}")
    print(f"  (a) / (b)                      : {r['reference_ms'] / r['kept_ms']:8.0f}x")
    targets.record(f"dashboard counts, {size:,}, {name}", f"{r['kept_ms']:.2f} ms",
                   f"GROUP BY {r['reference_ms']:.0f} ms", f"< {TARGET_MS:.0f} ms",
                   r["kept_ms"] < TARGET_MS, r["kept_ms"] / r["reference_ms"])
    upsert, trip = r["upsert_us"]
    print(f"  write path: one counts upsert  : {upsert:8.0f} us per writer.write call, 2 rows "
          f"(SELECT 1: {trip:.0f} us; bench/bulk's 10,000 moves make one per chunk of 1,000)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench counts", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--no-postgres", action="store_true")
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    with tempfile.TemporaryDirectory(prefix="sk-bench-counts-") as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'counts.db'}")
        build(engine, args.size)
        report("SQLite", args.size, args.runs, measure(engine, args.runs))
        engine.dispose()
    if not args.no_postgres:
        _postgres(args)
    return 0


def _postgres(args: argparse.Namespace) -> None:
    from tests.services import ServiceUnavailable, start_postgres

    try:
        server = start_postgres()
    except ServiceUnavailable as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        engine = create_engine(server.create_database("bench_counts"))
        build(engine, args.size)
        report("PostgreSQL", args.size, args.runs, measure(engine, args.runs))
        engine.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

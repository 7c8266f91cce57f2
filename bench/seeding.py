"""What the write-path benchmarks (``sweep``, ``timers``) share: a database seeded once through
the raw driver, fresh copies of it for each measured run (a file copy on SQLite, a database made
from it as a template on PostgreSQL), the raw-SQL floor's statements, and timing.
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

#: run_on(name, seeded URL, fresh() -> URL of a new copy, args)
RunOn = Callable[[str, str, Callable[[], str], argparse.Namespace], None]


def schema(engine) -> None:
    """The production schema: the models' tables plus the search index of migration 0002."""
    from webapp.models import Base

    Base.metadata.create_all(engine)
    path = Path(__file__).resolve().parents[1] / "migrations/versions/0002_search_index.py"
    spec = importlib.util.spec_from_file_location("search_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    statements = migration.SQLITE_UP if engine.dialect.name == "sqlite" else migration.PG_UP
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def seed(url: str, now: datetime, columns: Sequence[str], make_rows: Callable[[bool], Iterable],
         chunk: int, analyze_sqlite: bool = False) -> None:
    """The schema, the packs (and their field indexes), then ``make_rows(sqlite)`` (tuples of
    ``columns``) inserted into entities through the raw driver, ``chunk`` rows a commit; on
    PostgreSQL the id sequence moved past them and ANALYZE (on SQLite too if asked)."""
    from webapp.core.base.actor import SYSTEM
    from webapp.core.base.transactions import write_transaction
    from webapp.core.changes.manager import StateManager
    from webapp.core.workflows import packs
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    schema(engine)
    with Session(engine) as session, write_transaction(session):
        packs.install_packs(session, StateManager().workflows, SYSTEM, now)
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    statement = (f"INSERT INTO entities ({', '.join(columns)}) "
                 f"VALUES ({', '.join([mark] * len(columns))})")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows = list(make_rows(sqlite))
        for start in range(0, len(rows), chunk):
            if sqlite:
                cursor.execute("BEGIN")
            cursor.executemany(statement, rows[start:start + chunk])
            raw.commit()
        if not sqlite:
            cursor.execute("SELECT setval(pg_get_serial_sequence('entities', 'id'), %s)",
                           (len(rows),))
            raw.commit()
            raw.autocommit = True
        if analyze_sqlite or not sqlite:
            cursor.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
        engine.dispose()


def write_statements(mark: str) -> tuple[str, str, str]:
    """The floor's statements with the driver's parameter ``mark``: an entity's status change
    (status, changed at, updated at, id), its history row (10 columns) and outbox row (8)."""
    update = (f"UPDATE entities SET status={mark}, version=version+1, status_changed_at={mark}, "
              f"updated_at={mark} WHERE id={mark}")
    history = (f"INSERT INTO status_changes (entity_id, old_status, new_status, action, actor, "
               f"source, correlation_id, metadata, seconds_in_previous, created_at) "
               f"VALUES ({', '.join([mark] * 10)})")
    outbox = (f"INSERT INTO outbox_events (event_type, entity_id, payload, idempotency_key, "
              f"created_at, state, attempts, next_attempt_at) VALUES ({', '.join([mark] * 8)})")
    return update, history, outbox


@contextmanager
def warm(url: str, now: datetime) -> Iterator[tuple[Session, Any]]:
    """A session on ``url`` and a StateManager whose clock stands at ``now``, its caches
    (workflows, settings) warmed as in a server."""
    from webapp.core.changes.manager import StateManager
    from webapp.models.engine import configure_engines

    configure_engines()
    engine = create_engine(url)
    sm = StateManager(clock=lambda: now)
    try:
        with Session(engine) as session:
            sm.workflows.all(session), sm.settings.all(session)
            session.rollback()
            yield session, sm
    finally:
        engine.dispose()


def timed(fn):
    """(result, wall seconds, CPU seconds of this process -- SQLite runs in it)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, (time.perf_counter() - start, time.process_time() - cpu)


def secs(t: tuple[float, float]) -> str:
    return f"{t[0]:6.1f} s wall, {t[1]:6.1f} s CPU in this process"


def sqlite_then_postgres(tag: str, args: argparse.Namespace, run_on: RunOn) -> None:
    """``run_on`` on SQLite (in ``args.dir`` or a temporary folder) and, with
    ``args.postgres``, on PostgreSQL; each ``fresh()`` is a new copy of the seeded database."""
    with tempfile.TemporaryDirectory(prefix=f"sk-bench-{tag}-", dir=args.dir) as tmp:
        seeded, copies = Path(tmp) / "seeded.db", iter(range(1, 100))

        def fresh() -> str:
            copy = Path(tmp) / f"{tag}{next(copies)}.db"
            shutil.copyfile(seeded, copy)
            return f"sqlite:///{copy}"
        run_on("SQLite", f"sqlite:///{seeded}", fresh, args)
    if args.postgres:
        _postgres(tag, args, run_on)


def _postgres(tag: str, args: argparse.Namespace, run_on: RunOn) -> None:
    from tests.services import ServiceUnavailable, start_postgres

    try:
        server = start_postgres()
    except ServiceUnavailable as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    copies = iter(range(1, 100))

    def fresh() -> str:
        name = f"bench_{tag}{next(copies)}"
        server.psql(f'CREATE DATABASE "{name}" TEMPLATE bench_{tag}_seeded')
        return server.url(name)
    try:
        run_on("PostgreSQL", server.create_database(f"bench_{tag}_seeded"), fresh, args)
    finally:
        server.stop()

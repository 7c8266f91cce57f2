"""Fixtures for the core: a StateManager on a fresh database, a hand-moved clock, actors.

No Flask app here: the core takes a session, a clock and an actor explicitly. Tables come from
``Base.metadata.create_all`` (the migrations are tested elsewhere). Each test gets its own
SQLite file, a copy of one made per run with the tables and the built-in packs already in it
(installing the packs is most of a test's setup otherwise). ``pg_engine`` gives a fresh
PostgreSQL database on the suite's server instead.
"""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests import services
from tests.factories import make_manager
from tests.helpers import Clock
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.models import Base
from webapp.models.engine import configure_engines

#: A Monday early in the month: before the payroll cutoff day, far from any month end.
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _ready(engine: Engine) -> Engine:
    configure_engines()
    Base.metadata.create_all(engine)
    return engine


@pytest.fixture
def clock() -> Clock:
    """The core's clock: ``clock.advance(days=31)`` moves time, nothing sleeps."""
    return Clock(START)


ADMIN = Actor("ada", "admin", ip="203.0.113.7", user_agent="pytest")


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two database files made once per run: "empty" (every table) and "packs" (every table
    and the built-in packs, installed by ``ADMIN`` at START)."""
    made = {}
    for name in ("empty", "packs"):
        path = made[name] = tmp_path_factory.mktemp("template") / f"{name}.db"
        engine = _ready(create_engine(f"sqlite:///{path}"))
        with Session(engine) as session:
            if name == "packs":
                make_manager(session, Clock(START), ADMIN)
            session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # all in the one file
        engine.dispose()
    return made


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path, templates: dict[str, Path]
           ) -> Iterator[Engine]:
    """A fresh SQLite file of the test's own with every table; the packs are in it already
    when the test uses the ``manager``."""
    template = templates["packs" if "manager" in request.fixturenames else "empty"]
    shutil.copyfile(template, tmp_path / "core.db")
    configure_engines()
    engine = create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the test's database (one per thread in the concurrency tests)."""
    return sessionmaker(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def admin() -> Actor:
    return ADMIN


@pytest.fixture
def support() -> Actor:
    return Actor("sam", "support")


@pytest.fixture
def config_editor() -> Actor:
    return Actor("cora", "config_editor")


@pytest.fixture
def auditor() -> Actor:
    return Actor("aud", "auditor")


@pytest.fixture
def manager(session: Session, clock: Clock) -> StateManager:
    """The StateManager under test, packs loaded (realestate, facilities, accounts)."""
    return StateManager(clock=clock)


# ----------------------------------------------------------------- PostgreSQL
# The server itself is the session-scoped ``postgres_server`` of tests/conftest.py
# (started with services.start_postgres(), skipped with its reason where it cannot run).


@pytest.fixture
def pg_engine(postgres_server: services.PgServer) -> Iterator[Engine]:
    """A fresh, empty PostgreSQL database of the test's own, with every table."""
    url = postgres_server.create_database(f"core_{uuid.uuid4().hex[:12]}")
    engine = _ready(create_engine(url, pool_size=20))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_session(pg_engine: Engine) -> Iterator[Session]:
    with Session(pg_engine) as s:
        yield s

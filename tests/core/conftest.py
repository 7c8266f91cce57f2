"""Fixtures for the core: a StateManager on a fresh database, a hand-moved clock, actors.

No Flask app here: the core takes a session, a clock and an actor explicitly. Tables come from
``Base.metadata.create_all`` (the migrations are tested elsewhere). Each test gets its own
SQLite file; ``pg_engine`` gives a fresh PostgreSQL database on the suite's server instead.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from tests import services
from tests.helpers import Clock
from webapp.core import packs
from webapp.core.actor import Actor
from webapp.core.manager import StateManager
from webapp.core.transactions import write_transaction
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


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite file with every table."""
    engine = _ready(create_engine(f"sqlite:///{tmp_path / 'core.db'}"))
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
    return Actor("ada", "admin", ip="203.0.113.7", user_agent="pytest")


@pytest.fixture
def support() -> Actor:
    return Actor("sam", "support")


@pytest.fixture
def config_editor() -> Actor:
    return Actor("cora", "config_editor")


@pytest.fixture
def auditor() -> Actor:
    return Actor("aud", "auditor")


def make_manager(session: Session, clock: Clock, actor: Actor) -> StateManager:
    """A StateManager on ``clock`` with every built-in pack installed."""
    manager = StateManager(clock=clock)
    with write_transaction(session):
        packs.install_packs(session, manager.workflows, actor, clock())
    return manager


@pytest.fixture
def manager(session: Session, clock: Clock, admin: Actor) -> StateManager:
    """The StateManager under test, packs loaded (realestate, facilities, accounts)."""
    return make_manager(session, clock, admin)


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

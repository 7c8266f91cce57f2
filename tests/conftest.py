"""Fixtures: an app on a fresh, migrated database; signed-in clients; real servers.

Every app gets its own instance folder and database under tmp_path, and its own
in-memory rate-limit storage, so tests never touch ``instance/`` or each other.
"""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from config import TestConfig
from tests import services
from tests.factories import PASSWORD, make_user
from tests.helpers import Clock, login
from webapp import create_app
from webapp.core.changes.manager import StateManager
from webapp.core.lists import overview
from webapp.core.users import accounts
from webapp.extensions import db
from webapp.models import utcnow

AppFactory = Callable[..., Flask]


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at the cheapest parameters (still argon2id): ~0.1 ms a hash instead of ~150 ms.

    Every sign-in in every test hashes at least once; at production cost that alone would
    take minutes. Hashes keep their parameters, so verification works either way.
    """
    production = accounts.use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))
    yield
    accounts.use_hasher(production)


@pytest.fixture(autouse=True)
def _fresh_state_manager() -> Iterator[None]:
    """One StateManager per process: each test starts with its own (no cached workflows or
    settings from another test's database, no subscribers left behind)."""
    StateManager.reset_instance()
    overview.CACHE.clear()
    yield
    StateManager.reset_instance()


# pytest-flask pushes one request context for the whole test, and its client keeps the
# last request's context open. Flask then lets every request in the test share that one
# app context: one `g` (where Flask-Login caches the signed-in user) and one database
# session. That hides real bugs (a second browser would look signed in), so each request
# gets its own context here, as in production. Tests open `app.app_context()` themselves.
@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Overrides pytest-flask's fixture of the same name: push nothing."""


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser: keeps cookies, opens a fresh context per request (see above)."""
    return app.test_client()


@pytest.fixture
def clock() -> Clock:
    """The app's clock; ``clock.advance(minutes=20)`` moves time for the app only."""
    return Clock(utcnow())


def isolated_config(instance_dir: Path) -> type[TestConfig]:
    """TestConfig with its own instance folder, so nothing is written to ``instance/``."""
    return type("IsolatedTestConfig", (TestConfig,), {"INSTANCE_DIR": instance_dir})


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file built once by the real migrations; SQLite apps start from a copy of it."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    app = create_app(isolated_config(path.parent), SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def make_app(tmp_path: Path, clock: Clock, migrated_sqlite: Path) -> Iterator[AppFactory]:
    """Build apps with ``make_app(database_url=None, migrate=True, **config)``.

    Without a database_url the app gets its own SQLite file: a copy of ``migrated_sqlite``
    (the same bytes the migrations produce, without running them again), or an empty file
    when ``migrate=False``. Other databases are migrated in place.
    """
    built: list[Flask] = []

    def _make_app(database_url: str | None = None, migrate: bool = True,
                  **overrides: object) -> Flask:
        name = f"app{len(built)}"
        config = isolated_config(tmp_path / name)
        overrides.setdefault("RATELIMIT_STORAGE_URI", overrides.get("REDIS_URL") or "memory://")
        if database_url is None and migrate:
            shutil.copyfile(migrated_sqlite, tmp_path / f"{name}.db")
        app = create_app(
            config, CLOCK=clock,
            SQLALCHEMY_DATABASE_URI=database_url or f"sqlite:///{tmp_path / name}.db",
            **overrides,
        )
        built.append(app)
        if migrate and database_url is not None:
            with app.app_context():
                upgrade()
        return app

    yield _make_app
    for app in built:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """The app on a fresh SQLite file, schema made by the real migrations."""
    return make_app()


@pytest.fixture
def login_as(app: Flask) -> Callable[[str], FlaskClient]:
    """``login_as("auditor")``: a new user with that role, signed in through the form."""

    def _login_as(role: str) -> FlaskClient:
        with app.app_context():
            username = make_user(db.session, role=role).username
        browser = app.test_client()
        response = login(browser, username, PASSWORD)
        assert response.status_code == 302, response.text
        return browser

    return _login_as


@pytest.fixture
def admin_client(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("admin")


# ----------------------------------------------------------------- real servers


def _start_or_skip(start: Callable[[], object]) -> object:
    try:
        return start()
    except services.ServiceUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[services.PgServer]:
    server = _start_or_skip(services.start_postgres)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.RedisServer]:
    server = _start_or_skip(services.start_redis)
    yield server
    server.stop()


@pytest.fixture
def throwaway_redis() -> Iterator[services.RedisServer]:
    """A Redis of the test's own, for tests that take it down."""
    server = _start_or_skip(services.start_redis)
    yield server
    server.stop()


@pytest.fixture
def pg_app(make_app: AppFactory, postgres_server: services.PgServer) -> Flask:
    """The same app on a fresh PostgreSQL database, migrated."""
    return make_app(postgres_server.create_database(f"test_{uuid.uuid4().hex[:12]}"))

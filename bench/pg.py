"""The PostgreSQL side of the list page, search and history benchmarks, in one place.

``build_postgres(size)`` is bench/list_page.py's ``build`` on PostgreSQL: the app on a database
of a throwaway PostgreSQL 15 server (tests/services.py) migrated as a deploy does
(``flask_migrate.upgrade``: migration 0002 makes the pg_trgm GIN index on ``lower(name)``)
and seeded with ``size`` demo entities by the same ``populate``. The server and each size's
seeded database live as long as the process, so

    .venv/bin/python -m bench search history list_page 1000000 --postgres

seeds PostgreSQL once (minutes at 1,000,000) and all three measure the same database. After
seeding, ``VACUUM ANALYZE`` gives the planner the statistics and visibility map that
autovacuum would give a production database some minutes after a bulk import.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.services import PgServer, ServiceUnavailable, start_postgres

_server: PgServer | None = None
_unavailable: ServiceUnavailable | None = None
_databases: dict[int, str] = {}  # size -> URL of its seeded database
_instance = Path(tempfile.mkdtemp(prefix="sk-bench-pg-instance-"))
atexit.register(shutil.rmtree, _instance, True)


def build_postgres(size: int, url: str | None = None):
    """The app on a PostgreSQL database seeded with ``size`` entities (seeded on first use);
    raises ServiceUnavailable when no PostgreSQL server can be started here.

    With ``url`` (``--pg-url``), that database instead of a throwaway server's: seeded when it
    has no entities yet, reused as it is when it has (a 1,000,000-entity seed takes about 16
    minutes, so profiling sessions keep one)."""
    from bench.list_page import bench_config
    from webapp import create_app
    from webapp.models import utcnow

    url, fresh = _database(size) if url is None else (url, _empty(url))
    app = create_app(bench_config(_instance), SQLALCHEMY_DATABASE_URI=url,
                     RATELIMIT_STORAGE_URI="memory://", CLOCK=utcnow)
    if fresh:
        _seed(app, url, size)
    elif url in _databases.values():
        print(f"reusing the PostgreSQL database of {size:,} entities seeded in this process")
    else:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()  # as a deploy does: a database kept from before a migration catches up
    return app


def _database(size: int) -> tuple[str, bool]:
    """(URL, whether it is still empty) of this size's database on the process's server."""
    if size in _databases:
        return _databases[size], False
    url = _start().create_database(f"bench_{size}")
    _databases[size] = url
    return url, True


def _empty(url: str) -> bool:
    """Whether the database at url has no entities yet (no tables counts as none)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('entities')")).scalar() is None:
                return True
            held = conn.execute(text("SELECT count(*) FROM entities")).scalar()
    finally:
        engine.dispose()
    if held:
        print(f"reusing {url}: {held:,} entities")
    return not held


def _start() -> PgServer:
    """The process's server, started on first use (stopped by tests.services at exit)."""
    global _server, _unavailable
    if _unavailable is not None:
        raise _unavailable
    if _server is None:
        try:
            _server = start_postgres()
        except ServiceUnavailable as exc:
            _unavailable = exc
            raise
    return _server


def _seed(app, url: str, size: int) -> None:
    from bench.list_page import populate

    populate(app, size)
    started = time.perf_counter()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")

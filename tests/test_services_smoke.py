"""Smoke test for tests/services.py: real servers start, answer, and stop.

Skips with the helper's one-line reason where a service cannot be had here.
"""

import subprocess

import pytest

try:
    from tests import services
except ImportError:  # tests/ is not a package and the repo root is not on sys.path
    import services


def _start(factory):
    try:
        return factory()
    except services.ServiceUnavailable as exc:
        pytest.skip(str(exc))


def test_postgres_select_1_and_pg_trgm():
    psycopg = pytest.importorskip("psycopg")
    pg = _start(services.start_postgres)
    try:
        pg.create_database("smoke")
        with psycopg.connect(pg.dsn("smoke"), autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            assert conn.execute("SELECT similarity('builder', 'biulder')").fetchone()[0] > 0
    finally:
        pg.stop()


def test_redis_ping_kill_restart():
    redis = pytest.importorskip("redis")
    server = _start(services.start_redis)
    try:
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        server.kill()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        server.restart()
        assert client.ping()
    finally:
        server.stop()


def test_chromium_renders_a_page():
    path = services.chromium_path()
    if path is None:
        pytest.skip("chromium not installed (scripts/ensure-services.sh installs it)")
    html = "data:text/html,<p id=x>hello</p>"
    done = subprocess.run(
        [path, *services.CHROMIUM_ARGS, "--dump-dom", html],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert '<p id="x">hello</p>' in done.stdout, done.stderr[-500:]

"""How fast the entity list, search and dashboard answer at scale (Flask test client).

    .venv/bin/python bench/list_page.py 200000        # seeds a temporary database, then times
    .venv/bin/python bench/list_page.py 1000000 --runs 20 --keep /tmp/bench-1m  # reuse later
    .venv/bin/python -m bench list_page 1000000 --postgres   # the same on PostgreSQL (bench/pg.py)

Each figure is the median of ``--runs`` requests (after one warm-up request), measured in
process, so it is the server's time without the network. Not part of ``make test``.
"""
from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade

from config import TestConfig
from tests.services import ServiceUnavailable
from webapp import create_app
from webapp.core.base.actor import SYSTEM
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.demo import seed
from webapp.core.lists import overview
from webapp.core.users import accounts
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import utcnow

PASSWORD = "bench-password-42"


def build(size: int, folder: Path):
    """The app on ``folder``/bench.db, seeded with ``size`` entities unless it already was."""
    config = bench_config(folder)
    seeded = (folder / "bench.db").exists()
    app = create_app(config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.db'}",
                     RATELIMIT_STORAGE_URI="memory://", CLOCK=utcnow)
    if seeded:
        print(f"reusing the database in {folder}")
        return app
    populate(app, size)
    return app


def bench_config(folder: Path) -> type:
    return type("BenchConfig", (TestConfig,), {"INSTANCE_DIR": folder, "TESTING": False})


def populate(app, size: int) -> None:
    """Migrate the app's empty database, install the packs, add the bench user and seed
    ``size`` demo entities (bench/pg.py seeds PostgreSQL with this too)."""
    with app.app_context():
        upgrade()
        sm = StateManager.get_instance()
        with write_transaction(db.session):
            packs.install_packs(db.session, sm.workflows, SYSTEM, utcnow())
            accounts.create_user(db.session, "bench", "admin", PASSWORD)
        started = time.perf_counter()
        counts = seed.seed(db.session, sm.workflows.all(db.session), size, utcnow(),
                           keyring=sm.keyring)
        print(f"seeded {sum(counts.values()):,} entities in {time.perf_counter() - started:.1f} s "
              f"(property: {counts.get('property', 0):,})")


def add_database_options(parser: argparse.ArgumentParser, runs: int, size: int = 1_000_000) -> None:
    """The options search, history and list_page share (``python -m bench`` hands each of
    them the same command line, so they parse it alike and ignore the others' options)."""
    parser.add_argument("size", type=int, nargs="?", default=size)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the SQLite database in this folder")
    parser.add_argument("--postgres", action="store_true",
                        help="on PostgreSQL instead of SQLite (a throwaway server, seeded once "
                             "per size and process and shared by these benchmarks)")
    parser.add_argument("--pg-url", metavar="URL",
                        help="on this PostgreSQL database (implies --postgres): seeded when it "
                             "has no entities, reused as it is when it has")


@contextmanager
def opened_app(name: str, argv: list[str] | None, doc: str, **defaults: int) -> Iterator[tuple]:
    """(app, options) for benchmark ``name``: its options parsed (those of the other
    benchmarks ignored), the access log off, the seeded app asked for (SQLite in ``--keep``
    or a scratch folder, or PostgreSQL); app None, said once, when PostgreSQL is missing."""
    parser = argparse.ArgumentParser(prog=f"python -m bench {name}", description=doc.splitlines()[0])
    add_database_options(parser, **defaults)
    args, _ = parser.parse_known_args(argv)
    args.postgres = args.postgres or bool(args.pg_url)
    logging.disable(logging.INFO)  # the access log would drown the figures
    with tempfile.TemporaryDirectory() as scratch:
        try:
            app = _open(args, Path(scratch))
        except ServiceUnavailable as exc:
            print(f"{name} on PostgreSQL: skipped ({exc})")
            app = None
        yield app, args


def _open(args: argparse.Namespace, scratch: Path):
    if args.postgres:
        from bench.pg import build_postgres

        return build_postgres(args.size, args.pg_url)
    folder = args.keep or scratch
    folder.mkdir(parents=True, exist_ok=True)
    return build(args.size, folder)


def sign_in(client) -> None:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"csrf_token": token, "username": "bench",
                                         "password": PASSWORD})
    assert answer.status_code == 302, answer.text


def median_ms(client, url: str, runs: int, headers: dict | None = None, before=None) -> float:
    client.get(url, headers=headers)  # warm-up: caches, vocabulary, SQLite pages
    times = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (url, answer.status_code)
    return statistics.median(times)


def deep_cursor(client, url: str, pages: int) -> str:
    """The address of the page ``pages`` Next clicks into the list."""
    for _ in range(pages):
        url = re.search(r'rel="next" href="([^"]+)"', client.get(url).text).group(1)
        url = url.replace("&amp;", "&")
    return url


def main(argv: list[str] | None = None) -> int:
    with opened_app("list_page", argv, __doc__, runs=20, size=200_000) as (app, args):
        if app is None:
            return 0
        client = app.test_client()
        sign_in(client)
        htmx = {"HX-Request": "true"}
        cases = [
            ("list, first page (property)", "/entities/?type=property", None),
            ("list, 20 pages deep", deep_cursor(client, "/entities/?type=property", 20), None),
            ("list, filtered by status", "/entities/?type=property&status=pending", None),
            ("list, quiet for 60+ days", "/entities/?type=property&quiet_days=60", None),
            ("list, sorted by last activity", "/entities/?type=property&sort=last_activity_at", None),
            ("list, sorted by name", "/entities/?type=property&sort=name", None),
            ("search as you type (htmx rows)", "/entities/?type=property&q=maple+lane", htmx),
            ("search, misspelt", "/entities/?type=property&q=mapel+lnae", htmx),
            ("search, one common word", "/entities/?type=property&q=street", htmx),
            ("search, builder name", "/entities/?type=builder&q=acme+homes", htmx),
            ("entity page", "/entities/1", None),
            ("dashboard (counts kept by the write path)", "/", None),
        ]
        where = "PostgreSQL" if args.postgres else "SQLite"
        print(f"\n{where}: median of {args.runs} requests, {args.size:,} entities requested:")
        for label, url, headers in cases:
            print(f"  {label:34} {median_ms(client, url, args.runs, headers):8.1f} ms")
        uncached = median_ms(client, "/", max(3, args.runs // 4), before=overview.CACHE.clear)
        print(f"  {'dashboard, at-risk figures recomputed':34} {uncached:8.1f} ms")
    return 0


if __name__ == "__main__":
    main()

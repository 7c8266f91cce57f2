"""Bulk API throughput with 1, 2 and 3 gunicorn processes on one PostgreSQL (and one Redis).

Migrates a fresh database the way a deploy does (``flask --app wsgi db upgrade``), inserts
CLIENTS x 500 active sales reps and an admin API token, then for each process count starts
that many ``wsgi:app`` processes (gunicorn, one worker of 4 threads each, background workers
off so only requests are measured) and drives them with a bounded loopback client: CLIENTS
threads, each owning 500 ids, posting ``/api/v1/bulk/transition`` back and forth between
``inactive`` and ``active`` (full semantics: rules, history, outbox, audit), thread i talking
to process i mod N, a fixed REQUESTS requests in all after one warm-up request per thread.

Run with ``python -m bench processes [--runs N] [--requests N]`` (part of ``make bench``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIENTS, BATCH, REQUESTS, RUNS = 6, 500, 36, 3
PROCESS_COUNTS = (1, 2, 3)


def migrate(url: str, instance: Path) -> None:
    """The deploy step, as an operator runs it."""
    env = {**os.environ, "DATABASE_URL": url, "STATEKEEPER_INSTANCE": str(instance),
           "SECRET_KEY": "bench"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, capture_output=True)


def seed(url: str, instance: Path) -> tuple[str, list[list[int]]]:
    """Packs, an admin token and CLIENTS blocks of BATCH active sales reps."""
    from sqlalchemy import insert

    from config import TestConfig
    from webapp import create_app
    from webapp.core.base.actor import SYSTEM
    from webapp.core.base.transactions import write_transaction
    from webapp.core.changes import counts
    from webapp.core.changes.manager import StateManager
    from webapp.core.users import accounts
    from webapp.core.workflows import packs
    from webapp.extensions import db
    from webapp.models import Entity, utcnow

    config = type("BenchConfig", (TestConfig,), {"INSTANCE_DIR": instance})
    app = create_app(config, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        sm, now = StateManager.get_instance(), utcnow()
        with write_transaction(db.session):
            packs.install_packs(db.session, sm.workflows, SYSTEM, now)
            user = accounts.create_user(db.session, "bench", "admin", "bench-password-42")
            token = accounts.create_token(db.session, user, "bench")
        rows = [{"type": "sales_rep", "name": f"Rep {i}", "status": "active", "data": {},
                 "last_activity_at": now, "status_changed_at": now, "created_at": now,
                 "updated_at": now} for i in range(CLIENTS * BATCH)]
        ids = list(db.session.scalars(insert(Entity).returning(Entity.id), rows))
        counts.added(db.session, rows)
        db.session.commit()
        db.engine.dispose()
    return token, [ids[i * BATCH:(i + 1) * BATCH] for i in range(CLIENTS)]


class Client:
    """One loopback client thread's block of ids and which way it moves them next."""

    def __init__(self, ids: list[int], token: str) -> None:
        self.ids, self.token, self.target = ids, token, "inactive"

    def post(self, base: str) -> float:
        body = json.dumps({"ids": self.ids, "target_state": self.target}).encode()
        request = urllib.request.Request(base + "/api/v1/bulk/transition", data=body, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as answer:
            result = json.loads(answer.read())
        assert result["successful_items"] == len(self.ids), result
        self.target = "active" if self.target == "inactive" else "inactive"
        return time.perf_counter() - started


def drive(urls: list[str], clients: list[Client], requests: int) -> tuple[float, float]:
    """Entities per second and the median request time (s) for ``requests`` requests."""
    for i, client in enumerate(clients):  # warm-up: connections, caches, plans
        client.post(urls[i % len(urls)])
    remaining, lock, times = [requests], threading.Lock(), []

    def work(i: int) -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            times.append(clients[i].post(urls[i % len(urls)]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return requests * BATCH / elapsed, statistics.median(times)


def measure(url: str, redis_url: str | None, token: str, blocks: list[list[int]],
            work: Path, args: argparse.Namespace) -> dict[int, list[tuple[float, float]]]:
    from tests.live_server import AppProcess

    env = {"DATABASE_URL": url, "SECRET_KEY": "bench", "STATEKEEPER_INSTANCE": str(work / "inst"),
           "STATEKEEPER_API_RATE_LIMIT": "1000000 per minute", "GUNICORN_THREADS": "4"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    clients = [Client(ids, token) for ids in blocks]
    results: dict[int, list[tuple[float, float]]] = {}
    for n in PROCESS_COUNTS:
        processes = [AppProcess(env, work / f"p{n}-{i}.log") for i in range(n)]
        for p in processes:
            p.start()
        with ExitStack() as stack:
            for p in processes:
                stack.enter_context(p)
            results[n] = [drive([p.url for p in processes], clients, args.requests)
                          for _ in range(args.runs)]
    return results


def report(results: dict[int, list[tuple[float, float]]], requests: int) -> None:
    print(f"bulk API on PostgreSQL: {CLIENTS} client threads, {requests} requests of {BATCH} ids"
          f" per run, medians of {len(next(iter(results.values())))} runs")
    base = statistics.median(r for r, _ in results[PROCESS_COUNTS[0]])
    for n, runs in results.items():
        rate = statistics.median(r for r, _ in runs)
        latency = statistics.median(t for _, t in runs)
        print(f"  {n} process{'es' if n > 1 else '  '}: {rate:8,.0f} entities/s "
              f"({rate / base:4.2f}x)  median request {latency * 1000:6.0f} ms")


def main(argv: list[str] | None = None) -> int:
    from tests.services import ServiceUnavailable, start_postgres, start_redis

    parser = argparse.ArgumentParser(prog="python -m bench processes")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args, _ = parser.parse_known_args(argv or [])
    try:
        pg = start_postgres()
    except ServiceUnavailable as exc:
        print(f"processes: skipped ({exc})")
        return 0
    try:
        redis_server = start_redis()
    except ServiceUnavailable:
        redis_server = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-processes-") as tmp:
            work = Path(tmp)
            url = pg.create_database("bench_processes")
            migrate(url, work / "inst")
            token, blocks = seed(url, work / "inst")
            results = measure(url, redis_server.url if redis_server else None, token, blocks,
                              work, args)
            report(results, args.requests)
    finally:
        if redis_server:
            redis_server.stop()
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The entity list page under load: gunicorn + the real app vs a minimal Flask page (the ceiling).

    .venv/bin/python -m bench list_load 20000                  # seeds a temporary database
    .venv/bin/python -m bench list_load 1000000 --keep /tmp/skperf/app1m   # reuses one
    .venv/bin/python -m bench list_load 1000000 --postgres     # on PostgreSQL (bench/pg.py)
    .venv/bin/python -m bench list_load 1000000 --pg-url URL   # on a PostgreSQL database kept

bench/list_page.py's ``build`` seeds (or reuses) the database; a kept database from before a
later migration is copied and the copy migrated (the kept one is never altered). On
PostgreSQL bench/pg.py seeds it, or migrates a database given by ``--pg-url``. Two servers
then run on it with the same gunicorn settings (gunicorn.conf.py, configured through the
environment only: workers and threads as given, background workers off, no rate limit applies
to a list without a text query): ``wsgi:app``, signed in as the seeded user, on
``/entities/?type=property&status=pending`` (50 rows, a filter, the count, parents' names, the
layout), and bench/ceiling_app.py, the same 50 rows by one SQL query in a small Jinja table.
A third target, the app's page with the same filter matching no rows, shows the app's fixed
cost per page. Each run drives each target in turn with a bounded loopback load:
``--connections`` keep-alive connections for ``--seconds`` (wrk when installed, as ``make
bench`` does; otherwise a Python client in 2 processes, which takes a good share of the 2 cores
from the servers). Reported: requests/s, p50, p99, CPU per request of the servers' workers and
of the client, the busiest worker's share of the CPU (gunicorn's workers race to accept the
connections, so one worker may get most of them), the app/ceiling ratio and the peak RSS
(VmHWM) of the app's workers. Not part of ``make test``.
"""
from __future__ import annotations

import argparse
import http.client
import logging
import os
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, closing
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Self
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load_client, targets
from bench.list_page import PASSWORD, build
from bench.processes import migrate
from tests.services import _free_port, _tied_to_us
from webapp.core.base.errors import ID_MAX

USER_AGENT = "statekeeper-bench"  # the session is tied to it (session_protection = "strong")
TARGET_SHARE, TARGET_P99_MS, TARGET_RSS_MB = 0.33, 50.0, 300.0
#: A parent id no entity has (the largest id a list accepts): the same page, matching nothing.
NO_SUCH_PARENT = ID_MAX
#: A row's id: its first number cell (field columns of numbers follow it in the app's rows).
ROW_ID = re.compile(r'<tr>\s*(?:<td class="check">.*?</td>\s*)?<td class="num">(\d+)</td>', re.DOTALL)
TICKS = os.sysconf("SC_CLK_TCK")


class Server:
    """One gunicorn server (``module``) on ``database``, configured through the environment."""

    def __init__(self, module: str, env: dict[str, str], logfile: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.module, self.logfile = module, logfile
        self.env = {**os.environ, **env, "PORT": str(self.port), "STATEKEEPER_BACKGROUND": "0"}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        cmd = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket",
               self.module]
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(_tied_to_us(cmd), cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_up()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        self.proc.wait(timeout=30)

    def _wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.logfile.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn not up after {timeout}s ({self.logfile})")

    def workers(self) -> list[int]:
        """The worker processes (children of the gunicorn master)."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
            except (OSError, ValueError):
                continue
            if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                found.append(int(entry.name))
        return found

    def cpu_by_worker(self) -> dict[int, float]:
        """User + system CPU of each worker so far."""
        return {pid: _cpu(pid) for pid in self.workers()}

    def peak_rss_mb(self) -> list[float]:
        """Each worker's peak resident set (VmHWM), in MB."""
        return [_vm_hwm(pid) / 1024 for pid in self.workers()]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def sign_in(url: str) -> str:
    """The session cookie of the seeded user (``Cookie`` header value)."""
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
    conn.request("GET", "/login", headers={"User-Agent": USER_AGENT})
    answer = conn.getresponse()
    page, cookie = answer.read().decode(), _cookie(answer)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urlencode({"csrf_token": token, "username": "bench", "password": PASSWORD})
    conn.request("POST", "/login", body=form, headers={
        "User-Agent": USER_AGENT, "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded"})
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 302, f"sign-in answered {answer.status}"
    cookie = _cookie(answer)
    # A browser follows the redirect and keeps the cookie that page sets (the first page after
    # sign-in adds the session's CSRF token): without it every request of the load would add
    # the token again and sign a new cookie, work no browser makes the app do.
    conn.request("GET", answer.headers["Location"], headers={"User-Agent": USER_AGENT,
                                                             "Cookie": cookie})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    return _cookie(answer) or cookie


def _cookie(answer: http.client.HTTPResponse) -> str:
    jar = SimpleCookie()
    for header in answer.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return "; ".join(f"{k}={m.value}" for k, m in jar.items())


def shown_ids(url: str, cookie: str) -> list[int]:
    """The entity ids a page shows, after checking it answers 200."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200, (url, answer.status)
        return [int(i) for i in ROW_ID.findall(answer.read().decode())]


@dataclass
class Run:
    rate: float  # requests per second
    p50: float  # ms
    p99: float  # ms
    server_cpu_ms: float  # workers' CPU per request
    client_cpu_ms: float  # the load client's CPU per request
    busiest: float  # the busiest worker's share of the workers' CPU (0.5 = even, 1 = one did all)


@dataclass
class Target:
    label: str
    server: Server
    url: str
    cookie: str = ""


def drive(target: Target, args: argparse.Namespace) -> Run:
    headers = {"User-Agent": USER_AGENT, "Cookie": target.cookie}
    cpu_before, client_before = target.server.cpu_by_worker(), _children_cpu()
    result = load_client.run(args.client, target.url, headers, args.connections, args.seconds)
    cpu = [t - cpu_before.get(pid, 0) for pid, t in target.server.cpu_by_worker().items()]
    client = _children_cpu() - client_before
    if result.bad:
        raise RuntimeError(f"{result.bad} answers were not 200 OK from {target.url}")
    return Run(result.rate, result.p50, result.p99, sum(cpu) * 1000 / result.requests,
               client * 1000 / result.requests, max(cpu) / (sum(cpu) or 1))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(database: str, work: Path, args: argparse.Namespace):
    """Runs of every target in turn (so each sees the same machine), and the app workers'
    peak RSS. The third target, the app's page with the same filter matching no rows
    (sign-in, layout, count: everything but the rows), is a reference, not a target."""
    query = f"?type={args.type}&status={args.status}"
    common = {"WEB_CONCURRENCY": str(args.workers), "GUNICORN_THREADS": str(args.threads)}
    app_env = {**common, "DATABASE_URL": database, "SECRET_KEY": "bench",
               "STATEKEEPER_INSTANCE": str(work / "instance")}
    plain = database.removeprefix("sqlite:///").replace("postgresql+psycopg:", "postgresql:")
    with ExitStack() as stack:
        app = stack.enter_context(Server("wsgi:app", app_env, work / "app.log"))
        ceiling = stack.enter_context(Server("bench.ceiling_app:app", {
            **common, "CEILING_DATABASE": plain}, work / "ceiling.log"))
        cookie = sign_in(app.url)
        served = [Target("app: entity list page", app, f"{app.url}/entities/{query}", cookie),
                  Target("ceiling: minimal Flask page", ceiling, f"{ceiling.url}/{query}"),
                  Target("app, same page, no rows", app,
                         f"{app.url}/entities/{query}&parent_id={NO_SUCH_PARENT}", cookie)]
        same_rows(served)
        for target in served:
            warm_up(target, args)
        runs: dict[str, list[Run]] = {t.label: [] for t in served}
        for i in range(args.runs):
            for target in served:
                runs[target.label].append(drive(target, args))
            print(f"  run {i + 1}: " + " | ".join(_line(r[-1]) for r in runs.values()), flush=True)
        return runs, app.peak_rss_mb()


def warm_up(target: Target, args: argparse.Namespace) -> None:
    """Every worker, thread, template and cached page: a few short loads, each on new
    connections (gunicorn's workers race to accept them, so one load may miss a worker)."""
    for _ in range(3):
        load_client.run(args.client, target.url,
                        {"User-Agent": USER_AGENT, "Cookie": target.cookie},
                        args.connections, args.warmup / 3)


def same_rows(targets: list[Target]) -> None:
    try:
        shown = [shown_ids(t.url, t.cookie) for t in targets]
    except urllib.error.HTTPError as exc:
        logs = "\n".join(t.server.logfile.read_text()[-3000:] for t in targets[:2])
        raise RuntimeError(f"{exc.url} answered {exc.code}; the servers' logs end:\n{logs}") from exc
    assert len(shown[0]) == 50 and shown[0] == shown[1], f"the pages show other rows: {shown}"
    assert not shown[2], "the reference page shows rows"


def _line(r: Run) -> str:
    return f"{r.rate:6.1f}/s p50 {r.p50:5.1f} p99 {r.p99:5.1f} ms ({r.busiest:.0%})"


def report(runs: dict[str, list[Run]], rss: list[float], args: argparse.Namespace) -> bool:
    app, ceiling, empty = (_median_run(r) for r in runs.values())
    share = app.rate / ceiling.rate
    print(f"\n{args.size:,} entities, {args.connections} connections x {args.seconds:g} s, "
          f"gunicorn {args.workers} workers x {args.threads} threads, client {args.client}, "
          f"medians of {args.runs} runs:")
    print(f"  {'':28} {'requests/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'server CPU/req':>14} {'client CPU/req':>14}")
    for label, r in zip(runs, (app, ceiling, empty), strict=True):
        print(f"  {label:28} {r.rate:10.1f} {r.p50:7.1f} {r.p99:7.1f} "
              f"{r.server_cpu_ms:11.2f} ms {r.client_cpu_ms:11.2f} ms")
    ok = [share >= TARGET_SHARE, app.p99 < TARGET_P99_MS, max(rss) < TARGET_RSS_MB]
    print(f"  app / ceiling: {share:.0%} (target >= {TARGET_SHARE:.0%}) {_verdict(ok[0])}; "
          f"no-rows page / ceiling: {empty.rate / ceiling.rate:.0%}")
    print(f"  app p99: {app.p99:.1f} ms (target < {TARGET_P99_MS:g} ms) {_verdict(ok[1])}")
    print(f"  app workers' peak RSS (VmHWM): {', '.join(f'{m:.0f}' for m in rss)} MB "
          f"(target < {TARGET_RSS_MB:g} MB) {_verdict(ok[2])}")
    where = f"{args.size:,}, {'PostgreSQL' if args.postgres or args.pg_url else 'SQLite'}"
    targets.record(f"list page under load, {where}", f"{app.rate:,.0f} req/s",
                   f"minimal page {ceiling.rate:,.0f} req/s", f">= {TARGET_SHARE:.0%} of it",
                   ok[0], share)
    targets.record(f"list page p99 under load, {where}", f"{app.p99:.0f} ms p99",
                   f"minimal page {ceiling.p99:.0f} ms", f"< {TARGET_P99_MS:g} ms", ok[1])
    targets.record(f"app process peak memory, {where}", f"{max(rss):.0f} MB", "fixed goal",
                   f"< {TARGET_RSS_MB:g} MB", ok[2])
    return all(ok)


def _median_run(runs: list[Run]) -> Run:
    return Run(*(statistics.median(getattr(r, f) for r in runs) for f in Run.__dataclass_fields__))


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench list_load",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, nargs="?", default=200_000)
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the database in this folder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both servers)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (both)")
    parser.add_argument("--type", default="property")
    parser.add_argument("--status", default="pending")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--postgres", action="store_true",
                        help="on PostgreSQL (bench/pg.py: a throwaway server, seeded once)")
    parser.add_argument("--pg-url", metavar="URL",
                        help="on this PostgreSQL database (implies --postgres): seeded when it "
                             "has no entities, reused as it is when it has")
    args, _ = parser.parse_known_args(argv or [])
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="bench-list-load-") as scratch:
        if args.postgres or args.pg_url:
            database = _postgres(args)
            if database is None:
                return 0
        else:
            folder = args.keep or Path(scratch) / "db"
            folder.mkdir(parents=True, exist_ok=True)
            _seed(args.size, folder)
            database = f"sqlite:///{current_schema(folder / 'bench.db', Path(scratch))}"
        where = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
        print(f"list page under load on {where}: {args.client} client", flush=True)
        runs, rss = measure(database, Path(scratch), args)
        report(runs, rss, args)
    return 0


def _postgres(args: argparse.Namespace) -> str | None:
    """The URL of a seeded PostgreSQL database (bench/pg.py), or None when there is none."""
    from bench.pg import build_postgres
    from tests.services import ServiceUnavailable
    from webapp.extensions import db

    try:
        app = build_postgres(args.size, args.pg_url)
    except ServiceUnavailable as exc:
        print(f"list_load on PostgreSQL: skipped ({exc})")
        return None
    with app.app_context():
        db.engine.dispose()  # the servers open their own connections
    return app.config["SQLALCHEMY_DATABASE_URI"]


def current_schema(database: Path, scratch: Path) -> Path:
    """``database``, or a migrated copy of it when a later migration has landed since it was
    seeded: a kept database is never altered (the deploy step runs on the copy)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        current = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    if current == head:
        return database
    copy = scratch / "migrated" / "bench.db"
    copy.parent.mkdir(exist_ok=True)
    print(f"the database is at migration {current}, the code at {head}: using a migrated copy")
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as source, \
            closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    migrate(f"sqlite:///{copy}", scratch / "instance")
    return copy


def _seed(size: int, folder: Path) -> None:
    from webapp.extensions import db

    app = build(size, folder)
    with app.app_context():
        db.engine.dispose()  # the servers open their own connections


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

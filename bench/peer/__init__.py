"""Statekeeper's bulk transition against a Django + django-fsm-2 peer, in the same run.

The peer (``django_peer.py``, run from its own throwaway venv, ``bench/peer/.venv``, made by
scripts/ensure-bench-tools.sh from ``requirements.txt``) is what a Django shop writes for the
same job: an admin action ``for obj in queryset: obj.deactivate(); obj.save()`` with a
django-fsm-2 transition guarded like Statekeeper's ``min_age`` rule and one django-fsm-log
StateLog row per change, in one transaction.

Both get bench/bulk.py's data: 50,000 active builders created 100 days ago, and move the
same 10,000 scattered ids (the same draws as bench/bulk.py's) to ``inactive``; each run uses
fresh copies of both seeded databases, Statekeeper and the peer alternating. Statekeeper is
``bench.bulk.core``: ``bulk.run`` all or nothing with full semantics (workflow, rules, history,
outbox, audit, counts). Reported: medians, and Statekeeper's speed as a multiple of the
peer's (target >= 5x). ``python -m bench peer [--runs N] [--no-postgres]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import bulk, targets

HERE = Path(__file__).resolve().parent
PEER_PYTHON = HERE / ".venv" / "bin" / "python"
ROOT = HERE.parents[1]
TARGET = 5.0


class PeerUnavailable(Exception):
    pass


def ensure_peer() -> None:
    """Make the peer's venv if it is missing or stale (the script says why when it cannot)."""
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure-bench-tools.sh"), "peer"], check=False)
    if not PEER_PYTHON.exists():
        raise PeerUnavailable("its venv could not be made (see the line above)")


def _peer(*args: str) -> str:
    done = subprocess.run([str(PEER_PYTHON), str(HERE / "django_peer.py"), *args],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the peer failed: {done.stderr[-2000:]}")
    return done.stdout


def _plain(url: str) -> str:
    """A SQLAlchemy URL as the peer takes it (no driver name)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


class SqlitePeer:
    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir, self.template, self.n = workdir, workdir / "peer.db", 0
        _peer("seed", f"sqlite:///{self.template}")

    def fresh(self) -> str:
        self.n += 1
        copy = self.workdir / f"peer{self.n}.db"
        shutil.copy(self.template, copy)
        return f"sqlite:///{copy}"


class PostgresPeer:
    def __init__(self, server: Any) -> None:
        self.server, self.n = server, 0
        _peer("seed", _plain(server.create_database("peer_template")))

    def fresh(self) -> str:
        self.n += 1
        self.server.psql(f'CREATE DATABASE "peer_run{self.n}" TEMPLATE peer_template')
        return _plain(self.server.url(f"peer_run{self.n}"))


def run_peer(peer: Any, ids: list[int], workdir: Path) -> tuple[float, float]:
    ids_file = workdir / "ids.json"
    ids_file.write_text(json.dumps(ids))
    out = json.loads(_peer("run", peer.fresh(), str(ids_file)))
    assert out["changed"] == len(ids) and out["logs"] == len(ids), out
    return out["wall"], out["cpu"]


def measure(target: Any, peer: Any, runs: int, moved: int, workdir: Path) -> dict[str, Any]:
    rnd = random.Random(42)  # bench/bulk.py's draws
    ours, theirs = [], []
    for _ in range(runs):
        ids = rnd.sample(target.ids, moved)
        ours.append(bulk.core(target.fresh(), ids))
        theirs.append(run_peer(peer, ids, workdir))
    out: dict[str, Any] = {"ours": ours, "peer": theirs}
    for n, kind in enumerate(("wall", "cpu")):
        o, p = (statistics.median(x[n] for x in xs) for xs in (ours, theirs))
        out[kind] = {"ours_s": o, "peer_s": p, "times": p / o}
    return out


def report(name: str, moved: int, r: dict[str, Any]) -> None:
    w, c = r["wall"], r["cpu"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    met = "met" if w["times"] >= TARGET else "NOT met"
    print(f"{name}: bulk transition of {moved:,} scattered ids of {bulk.ENTITIES:,}, "
          f"median of {len(r['ours'])} runs each (load average {load})")
    print(f"  Django + django-fsm-2 admin loop : {w['peer_s'] * 1000:8.0f} ms  "
          f"{moved / w['peer_s']:>8,.0f} entities/s   (CPU {c['peer_s'] * 1000:6.0f} ms)   runs "
          f"{', '.join(f'{x[0] * 1000:.0f}' for x in r['peer'])} ms")
    print(f"  Statekeeper bulk transition      : {w['ours_s'] * 1000:8.0f} ms  "
          f"{moved / w['ours_s']:>8,.0f} entities/s   (CPU {c['ours_s'] * 1000:6.0f} ms)   runs "
          f"{', '.join(f'{x[0] * 1000:.0f}' for x in r['ours'])} ms")
    print(f"  Statekeeper / peer               : {w['times']:.1f}x wall, {c['times']:.1f}x CPU "
          f"(target >= {TARGET:.0f}x: {met})")
    targets.record(f"bulk transition vs Django peer, {name}", f"{moved / w['ours_s']:,.0f}/s",
                   f"peer {moved / w['peer_s']:,.0f}/s", f">= {TARGET:.0f}x the peer",
                   w["times"] >= TARGET, w["times"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench peer", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=bulk.RUNS)
    parser.add_argument("--moved", type=int, default=bulk.MOVED)
    parser.add_argument("--no-postgres", action="store_true")
    args, _ = parser.parse_known_args(argv)  # options of the other benchmarks
    try:
        ensure_peer()
    except PeerUnavailable as exc:
        print(f"peer: skipped ({exc})")
        return 0
    with tempfile.TemporaryDirectory(prefix="sk-bench-peer-") as tmp:
        work = Path(tmp)
        report("SQLite", args.moved, measure(bulk.SqliteTarget(work / "sqlite"),
                                             SqlitePeer(work / "peer"), args.runs, args.moved, work))
        if not args.no_postgres:
            _postgres(work, args)
    return 0


def _postgres(work: Path, args: argparse.Namespace) -> None:
    from tests.services import ServiceUnavailable

    try:
        target = bulk.PostgresTarget(work / "pg")
    except ServiceUnavailable as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    try:
        peer = PostgresPeer(target.server)
        report("PostgreSQL", args.moved, measure(target, peer, args.runs, args.moved, work))
    finally:
        target.close()


if __name__ == "__main__":
    sys.exit(main())

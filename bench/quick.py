"""``make bench-quick``: every benchmark with a target, at 100,000 entities on SQLite, in a
few minutes; then one line per target (figure, same-run reference, ratio, goal, met or not).

Each benchmark runs in its own process (as ``python -m bench NAME``), so one that fails or runs
out of time is reported and the others still run; their output goes to ``bench-quick.log``.
The benchmarks append their targets to a file (bench/targets.py), read back here. The exit
status is 0 whatever was measured: this is for seeing where things stand, quickly. The full
runs, at 1,000,000 and on PostgreSQL too, are ``make bench`` (figures in BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import targets

ROOT = Path(__file__).resolve().parent.parent
SIZE = 100_000


def steps(size: int, shared: Path) -> list[tuple[str, list[str]]]:
    """(benchmark, options): small runs that still measure each target beside its reference.
    The page benchmarks share one seeded database (``--keep``)."""
    keep = ["--keep", str(shared)]
    return [
        ("bulk", ["--no-postgres", "--runs", "1"]),
        ("peer", ["--no-postgres", "--runs", "1"]),
        ("sweep", ["--entities", str(size), "--due", str(size // 10), "--warned", str(size // 20)]),
        ("counts", ["--size", str(size), "--runs", "5", "--no-postgres"]),
        ("search", [str(size), "--runs", "3", *keep]),
        ("finding", [str(size), "--runs", "10", *keep]),
        ("history", [str(size), "--runs", "20", *keep]),
        ("list_load", [str(size), "--runs", "1", "--seconds", "5", "--warmup", "3", *keep]),
        ("timers", ["--entities", str(size), "--due", str(size // 2), "--repeat", "1"]),
        ("reports", [str(size), "--runs", "5", *keep]),
        ("publish", ["--entities", str(size), "--runs", "1", "--no-postgres"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quick", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--log", type=Path, default=ROOT / "bench-quick.log")
    parser.add_argument("--step-timeout", type=float, default=240.0,
                        help="seconds a benchmark may take before it is stopped")
    parser.add_argument("only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args(argv)
    started, failed = time.monotonic(), []
    with tempfile.TemporaryDirectory(prefix="bench-quick-") as scratch, args.log.open("w") as log:
        found = Path(scratch) / "targets.jsonl"
        env = {**os.environ, "BENCH_TARGETS": str(found), "PYTHONUNBUFFERED": "1"}
        for name, options in steps(args.size, Path(scratch) / "shared"):
            if args.only and name not in args.only:
                continue
            if not (ROOT / "bench" / f"{name}.py").exists() and not (ROOT / "bench" / name).is_dir():
                failed.append(f"{name}: not written yet")
                continue
            step = time.monotonic()
            print(f"{name} …", end=" ", flush=True)
            log.write(f"\n===== python -m bench {name} {' '.join(options)}\n")
            log.flush()
            try:
                done = subprocess.run([sys.executable, "-m", "bench", name, *options], cwd=ROOT,
                                      env=env, stdout=log, stderr=subprocess.STDOUT,
                                      timeout=args.step_timeout, check=False)
                outcome = "ok" if done.returncode == 0 else f"exit {done.returncode}"
            except subprocess.TimeoutExpired:
                outcome = f"stopped after {args.step_timeout:.0f} s"
            if outcome != "ok":
                failed.append(f"{name}: {outcome} (see {args.log})")
            print(f"{outcome} in {time.monotonic() - step:.0f} s", flush=True)
        print(f"\nTargets at {args.size:,} entities on SQLite "
              f"({time.monotonic() - started:.0f} s, load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
        for target in targets.read(found):
            print(target.line())
    for line in failed:
        print(f"not measured: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

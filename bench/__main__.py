"""``python -m bench [NAME ...] [-- options]``: run the benchmarks (all by default).

Each module in BENCHES has ``main(argv) -> int``; options after the name go to it.
"""
from __future__ import annotations

import importlib
import sys

#: Benchmark modules of this package, in the order ``make bench`` runs them.
BENCHES = ("bulk", "sweep", "list_page", "list_load", "search", "history", "processes",
           "keys_rotate", "counts", "peer", "finding", "csv_import", "timers", "reports",
           "publish", "sla_bulk")


def main(argv: list[str]) -> int:
    names = [a for a in argv if a in BENCHES] or list(BENCHES)
    options = [a for a in argv if a not in BENCHES]
    status = 0
    for name in names:
        status |= importlib.import_module(f"bench.{name}").main(options)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""One line per target: what each benchmark measured against its goal, beside its reference.

A benchmark calls ``record`` for each target it measures; the line is printed at once, and
when ``BENCH_TARGETS`` names a file (``make bench-quick`` sets it) it is also appended there
as JSON, so bench/quick.py can print them all together at the end, whatever process ran them.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    #: What is measured ("bulk transition, SQLite").
    name: str
    #: The figure, in words with its unit ("8,681/s", "12.4 ms p95").
    figure: str
    #: The reference from the same run ("floor 11,890/s"), or the fixed goal it is held to.
    reference: str
    #: The goal in words (">= 50 % of the floor", "< 20 ms").
    goal: str
    met: bool
    #: figure / reference where they are comparable.
    ratio: float | None = None

    def line(self) -> str:
        ratio = f"{self.ratio:6.2f}x" if self.ratio is not None else "      -"
        verdict = "met" if self.met else "NOT met"
        return (f"{self.name:44} {self.figure:>16}  ref {self.reference:<22} {ratio}  "
                f"goal {self.goal:<22} {verdict}")


def record(name: str, figure: str, reference: str, goal: str, met: bool,
           ratio: float | None = None) -> Target:
    target = Target(name, figure, reference, goal, bool(met), ratio)
    print(f"  target: {target.line()}")
    path = os.environ.get("BENCH_TARGETS")
    if path:
        with Path(path).open("a") as out:
            out.write(json.dumps(asdict(target)) + "\n")
    return target


def read(path: Path) -> list[Target]:
    if not path.exists():
        return []
    return [Target(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]

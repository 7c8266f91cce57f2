"""Stays in a state as a log-spaced histogram: percentiles from counts, to within 1 %.

Bucket ``b`` holds the stays of ``GROWTH**b`` up to ``GROWTH**(b + 1)`` seconds: each bucket's
upper edge is 2 % above its lower one, from a second to centuries in under 1,200 buckets (a
day of stays fills a few hundred at most). A percentile is the stay at its rank (nearest
rank: the ``ceil(p * n)``-th shortest), told as the geometric middle of its bucket, which is
within 1 % (``sqrt(1.02)``) of the exact stay; never more than the longest stay, and the
longest itself (kept exactly) when the rank is the last. Stays under a
second share bucket ``UNDER_A_SECOND`` and read as 0.

Histograms add up, so a range of days' is the sum of its days' counts (the database sums
them: one roll-up row per day and bucket).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

GROWTH = 1.02
_LOG_GROWTH = math.log(GROWTH)
UNDER_A_SECOND = -1


def bucket(seconds: float) -> int:
    """The bucket of a stay of ``seconds``."""
    if seconds < 1:
        return UNDER_A_SECOND
    return int(math.log(seconds) / _LOG_GROWTH)


def middle(b: int) -> float:
    """The seconds a bucket stands for: its geometric middle (0 for under a second)."""
    return 0.0 if b == UNDER_A_SECOND else GROWTH ** (b + 0.5)


def percentiles(counts: Mapping[int, int], wanted: Iterable[float],
                longest: float | None = None) -> list[float | None]:
    """The stays at each fraction in ``wanted`` (0.5, 0.9): seconds, or None with no stays."""
    n = sum(counts.values())
    wanted = list(wanted)
    if n == 0:
        return [None for _ in wanted]
    ranks = [max(1, math.ceil(p * n)) for p in wanted]
    found: list[float | None] = [None] * len(ranks)
    seen = 0
    for b in sorted(counts):
        seen += counts[b]
        for i, rank in enumerate(ranks):
            if found[i] is None and seen >= rank:
                found[i] = middle(b)
        if all(f is not None for f in found):
            break
    if longest is not None:  # the last rank is the longest stay itself, known exactly
        found = [longest if rank == n else min(f, longest) if f is not None else None
                 for f, rank in zip(found, ranks, strict=True)]
    return found

"""The stays histogram (core/reports/histogram.py): percentiles within 1 % of the exact
nearest-rank ones, whatever the spread of stays; the longest exact."""
from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from webapp.core.reports import histogram


def exact(stays: list[float], p: float) -> float:
    ordered = sorted(stays)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_are_within_one_percent_of_the_exact_stay(seed):
    rnd = random.Random(seed)
    stays = [rnd.lognormvariate(10, 2.5) + 1 for _ in range(rnd.randint(1, 3000))]
    counts = Counter(histogram.bucket(s) for s in stays)

    p50, p90 = histogram.percentiles(counts, (0.5, 0.9), max(stays))

    assert p50 == pytest.approx(exact(stays, 0.5), rel=0.01)
    assert p90 == pytest.approx(exact(stays, 0.9), rel=0.01)


def test_the_last_rank_is_the_longest_stay_itself_and_no_stay_is_none():
    counts = Counter(histogram.bucket(s) for s in (3600.0, 100_000.0))

    assert histogram.percentiles(counts, (0.5, 0.9), 100_000.0) == [
        pytest.approx(3600, rel=0.01), 100_000.0]
    assert histogram.percentiles(Counter(), (0.5,)) == [None]


def test_stays_under_a_second_read_as_zero():
    assert histogram.percentiles(Counter({histogram.bucket(0.2): 3}), (0.5,), 0.4) == [0.0]

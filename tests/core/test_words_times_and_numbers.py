"""The one wording helper says numbers with separators, days as "today" / "yesterday" /
"3 days ago", and moments to the minute in UTC, never with microseconds (issue 19)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from webapp.core.base.words import ago, moment, number, plural

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("n", "said"), [
    (1177, "1,177"), (0, "0"), (1234567, "1,234,567"), (1177.5, "1,177.5"),
    (Decimal("1177.50"), "1,177.50"), (-4200, "-4,200"), (None, ""), ("n/a", "n/a"), (True, "True"),
])
def test_a_number_has_thousands_separators(n, said):
    assert number(n) == said


def test_a_count_says_its_number_the_same_way():
    assert plural(1177, "property") == "1,177 properties"


@pytest.mark.parametrize(("before", "said"), [
    (timedelta(0), "today"), (timedelta(hours=23, minutes=59), "today"),
    (timedelta(days=1), "yesterday"), (timedelta(days=1, hours=23), "yesterday"),
    (timedelta(days=2), "2 days ago"), (timedelta(days=1200), "1,200 days ago"),
    (timedelta(seconds=-30), "today"),  # a clock a little ahead is not "in the future"
    (timedelta(days=-1), "tomorrow"), (timedelta(days=-5), "in 5 days"),
])
def test_a_day_is_said_as_how_long_ago_it_was(before, said):
    assert ago(NOW - before, NOW) == said


def test_a_time_without_a_zone_is_taken_as_utc():
    assert ago(datetime(2025, 3, 2, 8, 0), NOW) == "yesterday"
    assert ago(None, NOW) == ""


@pytest.mark.parametrize(("value", "said"), [
    (datetime(2025, 3, 3, 9, 0, 0, 123456, tzinfo=UTC), "2025-03-03 09:00 UTC"),
    (datetime(2025, 3, 3, 9, 0, 15, 999999, tzinfo=UTC), "2025-03-03 09:00:15 UTC"),
    (datetime(2025, 3, 3, 11, 0, tzinfo=timezone(timedelta(hours=2))), "2025-03-03 09:00 UTC"),
    ("2025-03-03T09:00:00.123456+00:00", "2025-03-03 09:00 UTC"),
    ("2025-03-03T09:30", "2025-03-03 09:30 UTC"),
    ("not a time", "not a time"), (None, ""), ("", ""),
])
def test_a_moment_is_said_to_the_minute_in_utc(value, said):
    assert moment(value) == said

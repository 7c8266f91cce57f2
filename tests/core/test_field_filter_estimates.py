"""How many entities a field filter matches, read off the statistics PostgreSQL keeps of the
field's index (lists/field_filters.estimated_matches): the list walks the ids when many match
and sorts the few matches otherwise, so the reading has to be right to within a few times."""
from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.core.fields import columns
from webapp.core.fields.spec import parse_fields
from webapp.core.lists import field_filters

SPECS = parse_fields({
    "price": {"type": "decimal", "filterable": True},
    "listed_on": {"type": "date", "filterable": True},
    "priority": {"type": "choice", "choices": ["LOW", "MEDIUM", "HIGH", "CRITICAL"],
                 "filterable": True},
    "notes": {"type": "text", "filterable": True},
})

#: 10,000 properties: a tenth without a price, 30 % at 250,000 and 20 % at 300,000, the rest
#: spread evenly over 100,000-1,100,000 (ten buckets of 100,000).
PRICES = columns.Statistics(
    rows=10_000, null_share=0.1, distinct=500,
    common=((Decimal(250000), 0.3), (Decimal(300000), 0.2)),
    bounds=tuple(Decimal(100_000 * i) for i in range(1, 12)))
#: Dates: no common ones, four buckets of a quarter each over 2024.
DATES = columns.Statistics(rows=1_000, null_share=0.0, distinct=366, common=(),
                           bounds=("2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01",
                                   "2024-12-31"))
PRIORITIES = columns.Statistics(rows=2_000, null_share=0.0, distinct=4, bounds=(),
                                common=(("LOW", 0.4), ("MEDIUM", 0.3), ("HIGH", 0.2),
                                        ("CRITICAL", 0.1)))


def _estimate(monkeypatch, stats, query: dict[str, str]) -> int | None:
    monkeypatch.setattr(columns, "statistics", lambda session, t, name, spec: stats)
    return field_filters.estimated_matches(None, "property", field_filters.parse(
        query, SPECS, "Property"))


@pytest.mark.parametrize(("query", "expected"), [
    # The common values count as they are; the rest by the part of each bucket in range.
    ({"data.price__gte": "300000", "data.price__lte": "500000"}, 2_000 + 400 * 2),
    ({"data.price__gt": "2500000"}, 0),
    ({"data.price__gte": "0"}, 9_000),  # every priced one (zero is a bound like any other)
    ({"data.price__lt": "260000"}, 3_000 + 400 * 1.6),
    ({"data.price": "250000"}, 3_000),
    # An uncommon value: the rest spread over the uncommon distinct values.
    ({"data.price": "640000"}, 4_000 / 498),
    ({"data.price__in": "250000,300000"}, 5_000),
])
def test_numbers_read_the_common_values_and_the_buckets(monkeypatch, query, expected):
    assert _estimate(monkeypatch, PRICES, query) == round(expected)


def test_text_counts_whole_buckets_and_half_of_one_cut_by_an_end(monkeypatch):
    second_half = {"data.listed_on__gte": "2024-07-01"}
    assert _estimate(monkeypatch, DATES, second_half) == 500
    narrow = {"data.listed_on__gte": "2024-05-01", "data.listed_on__lte": "2024-06-30"}
    assert _estimate(monkeypatch, DATES, narrow) == 125  # half of the bucket it falls in


def test_choices_are_their_common_shares(monkeypatch):
    assert _estimate(monkeypatch, PRIORITIES, {"data.priority__in": "HIGH,CRITICAL"}) == 600


def test_no_statistics_or_a_contains_filter_leave_the_choice_to_the_probe(monkeypatch):
    assert _estimate(monkeypatch, None, {"data.price__gte": "1"}) is None
    assert _estimate(monkeypatch, DATES, {"data.notes__contains": "pool"}) is None


def test_filters_on_two_fields_are_at_most_the_fewer(monkeypatch):
    both = {"data.price__gte": "1", "data.priority": "HIGH"}
    by_field = {"price": PRICES, "priority": PRIORITIES}
    monkeypatch.setattr(columns, "statistics", lambda session, t, name, spec: by_field[name])
    assert field_filters.estimated_matches(
        None, "property", field_filters.parse(both, SPECS, "Property")) == 400

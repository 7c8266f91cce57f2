"""The one wording helper: names from the code said as words, counts with their nouns."""
from __future__ import annotations

import pytest

from webapp.core.base.words import label, plural, pluralize


def test_a_label_says_an_identifier_with_spaces():
    assert label("under_contract") == "under contract"
    assert label("config_editor") == "config editor"
    assert label(None) == ""


@pytest.mark.parametrize(("noun", "one", "many"), [
    ("property", "property", "properties"),
    ("community", "community", "communities"),
    ("sales_rep", "sales rep", "sales reps"),
    ("day", "day", "days"),
    ("status", "status", "statuses"),
    ("entry", "entry", "entries"),
])
def test_a_noun_takes_its_plural_unless_there_is_exactly_one(noun, one, many):
    assert pluralize(noun, 1) == one
    assert pluralize(noun, 0) == pluralize(noun, 2) == pluralize(noun) == many


def test_a_count_carries_its_noun_and_thousands_separators():
    assert plural(1, "property") == "1 property"
    assert plural(3, "property") == "3 properties"
    assert plural(0, "related entity") == "0 related entities"
    assert plural(1200, "entry") == "1,200 entries"

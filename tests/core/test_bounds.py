"""The input bounds (core/base/bounds.py) and the audit redaction that must survive any depth."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from webapp.core.audit.redaction import REDACTED, redact
from webapp.core.base import bounds
from webapp.core.base.errors import InvalidInput


def refused(raw: str | bytes) -> dict[str, str]:
    with pytest.raises(InvalidInput) as err:
        bounds.loads(raw)
    return err.value.fields


def test_an_honest_document_decodes_as_the_standard_library_would():
    text = json.dumps({"name": "Ünïcode ✓ 😀", "ids": [1, 2, 3], "price": 12.5,
                       "nested": {"a": [{"b": None, "c": True}]}})

    assert bounds.loads(text) == json.loads(text)
    assert bounds.loads(text.encode()) == json.loads(text)


def test_a_surrogate_escape_is_refused_where_it_is_and_never_echoed():
    fields = refused('{"data": {"notes": ["ok", "a\\ud800b"]}}')

    assert fields == {"data.notes[1]": bounds.TEXT_RULE}


def test_a_surrogate_in_a_key_is_named_with_a_replacement_character():
    assert refused('{"data": {"a\\ud800": 1}}') == {"data.a\ufffd": bounds.TEXT_RULE}


def test_a_surrogate_already_in_the_text_is_refused_too():
    assert refused('{"note": "a\ud800"}') == {"note": bounds.TEXT_RULE}


def test_a_pair_of_surrogate_escapes_is_one_character_and_fine():
    assert bounds.loads('"\\ud83d\\ude00"') == "😀"


def test_nesting_is_allowed_to_32_levels_and_refused_past():
    assert bounds.loads("[" * 32 + "]" * 32) is not None
    assert refused("[" * 33 + "]" * 33) == {"body": bounds.DEPTH_RULE}
    assert refused("[" * 100_000 + "]" * 100_000) == {"body": bounds.DEPTH_RULE}


def test_integers_are_allowed_to_30_digits():
    assert bounds.loads("-" + "9" * 30) == -int("9" * 30)
    assert refused('{"n": ' + "9" * 31 + "}") == {"n": bounds.DIGITS_RULE}
    assert refused("9" * 5000) == {"body": bounds.DIGITS_RULE}


def test_a_broken_document_is_a_value_error_unless_a_bound_broke_first():
    with pytest.raises(ValueError):
        bounds.loads('{"n": 1,')
    assert refused('{"n": ' + "9" * 5000 + ",") == {"body": bounds.DIGITS_RULE}


def test_a_value_decoded_elsewhere_is_checked_without_recursion():
    value: list = []
    for _ in range(5000):
        value = [value]

    with pytest.raises(InvalidInput):
        bounds.check({"data": value})
    with pytest.raises(InvalidInput):
        bounds.check({"n": float("nan")})


@pytest.mark.parametrize("text, year", [("2026-03-01T12:00:00Z", 2026), ("1970-01-01", 1970),
                                        ("9999-12-31T12:00:00", 9999)])
def test_times_within_the_years_are_read_naive_as_utc(text, year):
    moment = bounds.parse_time(text, "as_of")

    assert moment.year == year and moment.utcoffset() is not None


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+05:00",
                                  "9999-12-31T23:59:59-05:00", "1969-12-31T23:59:59Z"])
def test_times_outside_the_years_are_refused_with_the_range(text):
    with pytest.raises(InvalidInput) as err:
        bounds.parse_time(text, "as_of")

    assert err.value.fields == {"as_of": bounds.YEAR_RULE}


def test_a_time_that_is_not_one_says_how_to_write_one():
    with pytest.raises(InvalidInput) as err:
        bounds.parse_time("next tuesday", "at")

    assert err.value.fields == {"at": bounds.TIME_HINT}


def test_bounded_time_keeps_the_moment_it_was_given():
    moment = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)

    assert bounds.bounded_time(moment, "at") is moment


def test_redacting_a_value_nested_600_levels_deep_neither_fails_nor_keeps_the_depth():
    value: dict = {"email": "jane@example.com"}
    for _ in range(600):
        value = {"k": value}

    redacted = redact({"data": value})

    depth, node = 0, redacted
    while isinstance(node, dict):
        node, depth = node.get("data", node.get("k")), depth + 1
    assert node == REDACTED and depth < 100
    assert "jane@example.com" not in json.dumps(redacted)

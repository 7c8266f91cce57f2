"""One CSV writer for every export, with one guard against spreadsheet formulas."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from webapp.core.base import csvfile


def read(rows) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(csvfile.lines(rows)))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_a_spreadsheet_would_run_as_a_formula_is_written_as_plain_text(start):
    [[cell]] = read([[f"{start}HYPERLINK(\"http://evil\")"]])

    assert cell == f"'{start}HYPERLINK(\"http://evil\")"


def test_ordinary_values_are_written_as_they_read():
    when = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)

    [row] = read([["Maple Court", 7, -2, None, when, {"b": 1, "a": "x"}]])

    assert row == ["Maple Court", "7", "-2", "", "2026-01-31T12:00:00+00:00",
                   '{"a": "x", "b": 1}']


def test_a_large_export_comes_in_pieces_not_one_string():
    pieces = list(csvfile.lines(([i, "x" * 100] for i in range(2000)), chunk=10_000))

    assert len(pieces) > 10
    assert len(read([[i, "x" * 100] for i in range(2000)])) == 2000

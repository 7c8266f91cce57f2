"""CSV for every export: one writer, and one guard against spreadsheet formulas.

Exports are opened in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula: a name like ``=HYPERLINK("http://evil")`` typed
into the app would become a live link on an auditor's machine (OWASP "CSV injection"). Every
text cell that starts like that is written with a leading apostrophe, which spreadsheets show
as plain text.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

#: Spreadsheets run cells starting with these as formulas: exported text must not.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters gathered before a piece is handed on (one piece per row would be slow).
CHUNK = 64 * 1024


def cell(value: Any) -> str | int | float:
    """A value as a CSV cell: nothing empty, times in ISO 8601, mappings and lists as JSON,
    and text a spreadsheet would run as a formula made plain text. Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        value = json.dumps(value, sort_keys=True, default=str)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def lines(rows: Iterable[Sequence[Any]], chunk: int = CHUNK) -> Iterator[str]:
    """The CSV text of ``rows`` (the header is the first row), every value passed through
    ``cell``, in pieces of about ``chunk`` characters: a million rows never sit in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([cell(v) for v in row])
        if buffer.tell() >= chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

"""The CSV form of a type's entities (CONTRACT §7): the columns the list exports and the import
reads back, one source for both.

Columns: ``FIXED`` (id, type, name, status, version, parent_id and the times), then one per
declared field, named as the field (a type without fields has one ``data`` column of JSON).
A cell holds the stored value as text, in the form the field kinds' ``from_text`` reading
takes back (``fields/kinds.py``): decimals as written, dates and times ISO, booleans
``true``/``false``, references as ids, users as usernames, locations as ``lat,lon``, lists as
JSON. ``base/csvfile`` writes text a spreadsheet would run as a formula with a leading
apostrophe; reading takes it off again (``plain``).

Reading a file is bounded and says what is wrong with it as a whole (``InvalidInput``, a 400):
too large, not UTF-8, not CSV, empty, no header, unknown or repeated columns, too many rows,
a key column missing or a key value on two rows. What is wrong with one row is that row's
failure (``importing``).
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from webapp.core.base import bounds
from webapp.core.base.csvfile import FORMULA_START
from webapp.core.base.errors import InvalidInput
from webapp.core.base.words import label
from webapp.core.fields import kinds
from webapp.core.fields.spec import FieldSpec, unique_text
from webapp.core.workflows.definition import Workflow

FIXED = ("id", "type", "name", "status", "version", "parent_id", "last_activity_at",
         "status_changed_at", "created_at", "updated_at")
#: Read on import as well: the parent by name, "Maple Ridge (#12)" or id.
PARENT = "parent"
#: Most bytes and data rows one file may have.
SIZE_LIMIT = 10 * 1024 * 1024  # 10,000 rows of a wide type (webapp/inputs.py LARGE_UPLOADS)
ROW_LIMIT = 10_000
SHOWN = 10
_ID_AT_END = re.compile(r"^(?:.*\S\s+)?\(?#?(\d{1,10})\)?$")


def columns(wf: Workflow) -> tuple[str, ...]:
    """The header of ``wf``'s export (and every column its import reads but ``parent``)."""
    return FIXED + (tuple(wf.fields) if wf.fields else ("data",))


def export_row(e: Any, data: Mapping[str, Any], wf: Workflow) -> tuple[Any, ...]:
    """One entity's cells (``data`` as the reader may see it); csvfile formats and guards them."""
    fixed = (e.id, e.type, e.name, e.status, e.version, e.parent_id, e.last_activity_at,
             e.status_changed_at, e.created_at, e.updated_at)
    if not wf.fields:
        return (*fixed, dict(data))
    return fixed + tuple(_cell(spec, data.get(name)) for name, spec in wf.fields.items())


def _cell(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if spec.type == "boolean":
        return "true" if value else "false"
    if spec.type == "location" and isinstance(value, dict):
        return f"{_coordinate(value.get('lat'))},{_coordinate(value.get('lon'))}"
    return value


def _coordinate(value: Any) -> str:
    # "f": 0.00001 as written, never "1e-05", which the reading would refuse.
    return format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)


def plain(text: str) -> str:
    """A cell as typed: without the apostrophe the export put before a formula-like text."""
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_START:
        return text[1:]
    return text


def shaped(spec: FieldSpec, text: str) -> Any:
    """A non-blank cell as the field's ``from_text`` reading takes it: a list from its JSON, a
    location from "lat,lon"; other kinds read the text itself (what does not fit is left for
    the reading to refuse in its own words)."""
    if spec.type == "list":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if spec.type == "location" and text.count(",") == 1:
        lat, lon = text.split(",")
        return {"lat": lat, "lon": lon}
    return text


@dataclass
class Sheet:
    """A file read: its header and its data rows as ``(row number, {column: cell})``; the
    header is row 1, as a spreadsheet numbers it. Cells are stripped and ``plain``."""

    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    #: Rows with more cells than the header: row number -> how many.
    ragged: dict[int, int]


def read(raw: bytes, wf: Workflow, key: str | None) -> Sheet:
    """The file, or InvalidInput (400) saying what makes the whole file unusable."""
    text = _text(raw)
    records = _records(text)
    header = _header(next(records, None), wf)
    sheet = Sheet(header, [], {})
    for number, record in records:
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        if len(sheet.rows) == ROW_LIMIT:
            raise _refused(f"The file has more than {ROW_LIMIT:,} rows; split it.")
        if len(record) > len(header):
            sheet.ragged[number] = len(record)
        record = record + [""] * (len(header) - len(record))  # trailing blanks left out
        cells = {name: plain(value.strip()) for name, value in zip(header, record, strict=False)}
        sheet.rows.append((number, cells))
    if not sheet.rows:
        raise _refused("The file has a header but no rows.")
    if key is not None:
        _check_key(sheet, wf, key)
    return sheet


def _refused(message: str) -> InvalidInput:
    return InvalidInput(message, {"file": message})


def _text(raw: bytes) -> str:
    if len(raw) > SIZE_LIMIT:
        raise _refused(f"The file is larger than {SIZE_LIMIT // (1024 * 1024)} MB; split it.")
    if not raw.strip():
        raise _refused("The file is empty.")
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as err:
        raise _refused(f"The file is not UTF-8 text (byte {err.start + 1:,}); save it as "
                       "\"CSV UTF-8\".") from None
    if "\x00" in text:
        raise _refused("The file holds NUL characters: it is not a CSV text file.")
    return text


def _records(text: str):
    """``(row number, cells)`` per CSV record; a broken record refuses the file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            yield number, record
    except csv.Error as err:
        raise _refused(f"Row {number + 1} is not valid CSV ({err}).") from None


def _header(first: tuple[int, list[str]] | None, wf: Workflow) -> list[str]:
    known = (*columns(wf), PARENT)
    header = [cell.strip().lstrip("\ufeff") for cell in (first[1] if first else [])]
    if not any(name in known for name in header):
        shown = ", ".join(repr(c) for c in header[:3])
        raise _refused(f"The first row must be the header, with columns such as "
                       f"{', '.join(columns(wf)[:4])}; it reads {shown or 'nothing'}.")
    unknown = [name for name in header if name not in known]
    if unknown:
        raise InvalidInput(
            f"Unknown columns: {', '.join(repr(u) for u in unknown[:SHOWN])}. "
            f"{wf.label} has: {', '.join(known)}.",
            {"file": f"Unknown columns: {', '.join(unknown[:SHOWN])}."})
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise _refused(f"Columns named twice: {', '.join(repeated)}.")
    if PARENT in header and "parent_id" in header:
        raise _refused("Give the parent in one column: parent (a name or id) or parent_id.")
    return header


def key_choices(wf: Workflow) -> list[str]:
    """What may identify the rows that update: ``id`` and the type's unique fields."""
    return ["id", *(name for name, spec in wf.fields.items() if spec.unique)]


def key_text(spec: FieldSpec | None, cell: str) -> str | None:
    """How a key cell is compared (None when it is no value of the field): an id as a number,
    a unique field as ``unique_text`` of its stored form."""
    if spec is None:
        return str(int(cell)) if cell.isascii() and cell.isdigit() and len(cell) <= 10 else None
    try:
        return unique_text(spec, kinds.read(spec, shaped(spec, cell), True))
    except kinds.Bad:
        return None


def _check_key(sheet: Sheet, wf: Workflow, key: str) -> None:
    if key not in key_choices(wf):
        choices = ", ".join(key_choices(wf))
        raise InvalidInput(f"{key!r} cannot identify {wf.label.lower()} rows: it is not unique.",
                           {"key": f"Choose one of: {choices} (or no key: every row creates)."})
    if key not in sheet.header:
        raise InvalidInput(f"The file has no {key!r} column to match rows by.",
                           {"key": f"Add a {key} column, or choose another key."})
    spec = wf.fields.get(key) if key != "id" else None
    seen: dict[str, list[int]] = {}
    for number, cells in sheet.rows:
        value = key_text(spec, cells.get(key, "")) if cells.get(key) else None
        if value is not None:
            seen.setdefault(value, []).append(number)
    twice = [(value, rows) for value, rows in seen.items() if len(rows) > 1]
    if twice:
        said = "; ".join(f"{value!r} on rows {', '.join(map(str, rows))}"
                         for value, rows in twice[:5])
        raise InvalidInput(f"Each {key} may be on one row only: {said}.",
                           {"file": f"{len(twice):,} {key} values are on several rows."})


# ------------------------------------------------------------------- cells of a row


def parent_by_id(parent_type: str, text: str) -> int:
    """A parent named by id ("12", "#12", "Maple Ridge (#12)"), when no finder by name is given."""
    found = _ID_AT_END.match(text)
    if found is None:
        raise LookupError(f"Name the {label(parent_type)} by its id, e.g. #12.")
    return int(found[1])


def whole(text: str, column: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise InvalidInput(f"{column} must be a whole number.", {column: "Give a whole number."})
    return int(text)


def json_data(text: str) -> dict[str, Any]:
    try:
        data = bounds.loads(text, where="data") if text else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InvalidInput("data must be a JSON object.", {"data": "Write it as {\"key\": value}."})
    return data

"""The web edge of the input bounds (``core/base/bounds.py``): every request is held to them
before a view reads it, so no view has to remember to.

- **JSON bodies**: the app's request class decodes JSON with ``bounds.loads``, so every
  ``request.get_json()`` (with ``silent=True`` too) raises ``InvalidInput`` for a surrogate, a
  document nested more than 32 levels deep or an over-long or non-finite number.
- **Query strings, forms and uploaded JSON files**: checked before every request. A value
  that is JSON (the bulk page's ``update_data``, an entity's data, a rule's value, an imported
  workflow) is held to the same bounds; a value that is a number or a list of numbers to the
  same number of digits, written with the digits 0-9 (``"²".isdigit()`` is true, and
  ``int("²")`` fails); a time parameter (``TIME_PARAMETERS``) to the same years; an id
  parameter (``ID_PARAMETERS``) to the ids a row can have.
- **Path ids**: ``<int:...>`` matches only a number a row id could be, so a 20-digit id is a
  404 rather than an overflow in the database driver.
- **Addresses** longer than ``URL_MAX`` bytes are answered 414 in the contract's shape
  (gunicorn.conf.py lets a request line of up to 8,190 bytes through to the app).

Refusals are ``InvalidInput``: 400 with ``{"error", "message", "fields"}`` under /api/ and the
error page elsewhere (``webapp/errors.py``).
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from flask import Flask, Request, json, request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestURITooLarge
from werkzeug.routing import IntegerConverter, ValidationError

from webapp.core.base import bounds
from webapp.core.base.errors import ID_MAX

#: Bytes of path and query string the app answers; past it, 414.
URL_MAX = 8000
#: Query and form parameters that name a moment; wherever they are sent they are held to
#: the years of ``bounds.YEAR_MIN``..``YEAR_MAX`` (a value that is not a time is left to the
#: view to explain). JSON bodies' top-level properties of these names likewise.
TIME_PARAMETERS = frozenset({"as_of", "at", "since", "until", "effective_at", "last_activity_at"})
#: Query and form parameters that carry row ids (a page's ``before``, the bell's ``up_to``,
#: the bulk page's ``since`` watermark...): a number there past any id is refused before a
#: query compares a column with it (SQLite overflows past 2**63; PostgreSQL ids stop at 2**31).
ID_PARAMETERS = frozenset({"before", "after", "up_to", "since", "change_id", "parent_id", "ids"})
ID_RULE = f"Not an id: ids are whole numbers from 1 to {ID_MAX:,}."
DIGITS_ONLY_RULE = "Write numbers with the digits 0 to 9."
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: A number or a list of numbers ("1,2,3"; one class, so no backtracking on a long value):
#: each held to ``bounds.DIGITS_MAX`` digits.
_NUMBERS = re.compile(r"[\d\s,;.+\-eE]+")
_LONG_DIGITS = re.compile(rf"\d{{{bounds.DIGITS_MAX + 1},}}")
#: One number ("12", "-4.5e3"): finite and below 10 ** DIGITS_MAX as well.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: Uploads are read this far to tell a JSON document from anything else (a CSV, say).
_SNIFF = 64


def init_app(app: Flask) -> None:
    """Install the bounds on ``app``; before its blueprints, whose ``<int:>`` rules need the
    bounded converter when they are added."""
    app.request_class = BoundedRequest
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)


class BoundedJSON:
    """What ``request.get_json()`` decodes with: Werkzeug calls ``json_module.loads``."""

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        value = bounds.loads(data)
        if isinstance(value, dict):
            check_times(value)
        return value

    dumps = staticmethod(json.dumps)


class BoundedRequest(Request):
    """Decodes its JSON body with ``BoundedJSON``. Flask assigns ``app.json`` (the app-wide
    provider, which also reads session cookies) to every new request's ``json_module``; this
    request keeps its own, so the bounds apply to request bodies and to nothing else."""

    @property
    def json_module(self) -> type[BoundedJSON]:
        return BoundedJSON

    @json_module.setter
    def json_module(self, _provider: Any) -> None:
        pass


class IdConverter(IntegerConverter):
    """``<int:...>`` that matches a row id only: a longer number names nothing (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(ID_MAX)):  # before int(): 5,000 digits would not convert
            raise ValidationError()
        return super().to_python(value)


#: Routes that take a larger body than MAX_CONTENT_LENGTH (2 MB): a CSV import of up to
#: 10,000 rows (core/bulk/importing_sheet.py SIZE_LIMIT, plus the form around the file).
LARGE_UPLOADS = {"entities.import_file": 10 * 1024 * 1024 + 65_536,
                 "api.import_entities": 10 * 1024 * 1024 + 65_536}


def check_request() -> None:
    """Refuse the request when its address, any query or form value or an uploaded JSON file
    breaks a bound."""
    environ = request.environ
    if len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) > URL_MAX:
        raise RequestURITooLarge(f"The address is longer than {URL_MAX:,} bytes. Send long "
                                 "selections in a POST body instead.")
    for name, value in request.args.items(multi=True):
        check_text(value, name)
    if request.endpoint in LARGE_UPLOADS:  # before the body is read: a CSV import's file
        request.max_content_length = LARGE_UPLOADS[request.endpoint]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            check_text(value, name)
        for name, upload in request.files.items(multi=True):
            check_upload(upload, name)


def check_text(value: str, name: str) -> None:
    """One query or form value: storable text, and within bounds when it is JSON, a number
    (or a list of numbers) or a time parameter."""
    value, name = value or "", name or ""  # a multipart part may come without a name or value
    if bounds.unstorable(value) or bounds.unstorable(name):
        raise bounds.refuse(name or "body", bounds.TEXT_RULE)
    text = value.strip()
    if text.isdigit() and not text.isascii():  # "²" passes isdigit(), then int() fails
        raise bounds.refuse(name, DIGITS_ONLY_RULE)
    if _NUMBERS.fullmatch(text):
        check_numbers(text, name)
    if text[:1] in ('{', '[', '"'):
        try:
            bounds.loads(text, where=name)
        except ValueError:
            pass  # not JSON after all: the view says what it expected
    if name in TIME_PARAMETERS:
        check_time(text, name)
    if name in ID_PARAMETERS:
        check_ids(text, name)


def check_ids(text: str, name: str) -> None:
    """Numbers in an id parameter ("12" or "1,2,3") are ids a row could have; anything else
    is left to the view to explain."""
    for part in text.split(","):
        part = part.strip()
        if part.isascii() and part.isdigit() and (len(part) > 10 or int(part) > ID_MAX):
            raise bounds.refuse(name, ID_RULE)


def check_numbers(text: str, name: str) -> None:
    if _LONG_DIGITS.search(text):
        raise bounds.refuse(name, bounds.DIGITS_RULE)
    if _NUMBER.fullmatch(text):
        number = float(text)
        if not math.isfinite(number):
            raise bounds.refuse(name, bounds.FINITE_RULE)
        if abs(number) >= 10.0 ** bounds.DIGITS_MAX:
            raise bounds.refuse(name, bounds.DIGITS_RULE)


def check_upload(upload: FileStorage, name: str) -> None:
    """An uploaded file that may be a JSON document (a workflow to import) is held to the
    bounds; one that is not (a CSV) is left to its importer."""
    start = upload.stream.read(_SNIFF).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    upload.stream.seek(0)
    if not start or start not in b'{["-0123456789':
        return
    try:
        text = upload.stream.read().decode("utf-8-sig")
        bounds.loads(text, where=name)
    except UnicodeDecodeError as err:
        if start in b"{[":  # a JSON document is UTF-8 (RFC 8259); a CSV may be in any encoding
            raise bounds.refuse(name, bounds.UTF8_RULE) from err
    except ValueError:
        pass  # not JSON after all: the import says what is wrong with it
    finally:
        upload.stream.seek(0)


def check_times(document: dict[str, Any]) -> None:
    """The time properties of a JSON body, held to the years a time may be in."""
    for name in TIME_PARAMETERS & document.keys():
        if isinstance(document[name], str):
            check_time(document[name].strip(), name)


def check_time(text: str, name: str) -> None:
    """A time parameter out of range is refused; one that is no time is left to the view.
    Only the extended form (2026-01-31) counts as a time here: ``since`` on the bulk page is
    a change id, and 12340101 would read as the year 1234 in the basic form."""
    if not _ISO_DATE.match(text):
        return
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return
    bounds.bounded_time(moment, name)

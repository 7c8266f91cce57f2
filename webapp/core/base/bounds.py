"""Bounds on what any input may hold, so that no value a client sends can break the code that
reads it, the database that keeps it or the pages that show it.

- **Text is storable Unicode.** JSON's ``"\\ud800"`` escape decodes to a lone UTF-16
  surrogate, which no UTF-8 encoder takes: stored in a name or in ``data``, it breaks every
  page and export that shows it. ``"\\u0000"`` (NUL) is refused too: PostgreSQL stores it in
  neither text nor JSON.
- **Nesting is at most ``DEPTH_MAX`` levels.** A thousand levels exhaust Python's recursion in
  the JSON decoder, in merge patches, redaction and templates; no honest document nests 32.
- **Numbers have at most ``DIGITS_MAX`` digits and are finite.** Python refuses to convert an
  integer of more than 4,300 digits (with a message about ``sys.set_int_max_str_digits``), no
  column holds more than 19, and ``NaN``/``Infinity`` are not JSON.
- **Times lie between the years ``YEAR_MIN`` and ``YEAR_MAX``.** A forecast as of the year 1
  overflows date arithmetic; nothing this application records happened before 1970.

``loads`` decodes JSON under all of these and ``check`` holds a decoded value to them; both
raise ``InvalidInput`` naming where the value is (``data.notes``, ``ids[3]``), never echoing
it. The web edge (``webapp/inputs.py``) applies them to every request before a view reads it.
"""
from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from webapp.core.base.errors import InvalidInput

DEPTH_MAX = 32
DIGITS_MAX = 30
YEAR_MIN, YEAR_MAX = 1970, 9999

TEXT_RULE = ("Text may not contain a NUL character or a lone UTF-16 surrogate (\\ud800-\\udfff);"
             " send valid Unicode.")
DEPTH_RULE = f"Nested more than {DEPTH_MAX} levels deep; at most {DEPTH_MAX} levels are accepted."
DIGITS_RULE = f"Numbers may have at most {DIGITS_MAX} digits."
FINITE_RULE = "Numbers must be finite: NaN and Infinity are not accepted."
UTF8_RULE = "Not valid UTF-8 text."
YEAR_RULE = f"Use a time between the years {YEAR_MIN} and {YEAR_MAX}."
TIME_HINT = "Use an ISO 8601 time, e.g. 2026-01-31T12:00:00Z."

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: JSON escapes of those characters. A decoded document is walked only when its text holds
#: one (or the character itself), more brackets than DEPTH_MAX allows or a refused number;
#: most bodies are none of these and are not walked at all.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
#: One step of a path: ``.key`` or ``[3]``.
_SEGMENT = re.compile(r"\.[^.\[]*|\[\d+\]")


class _Refused:
    """Stands in for a number the decoder was told not to build; ``check`` reports it."""

    __slots__ = ("rule",)

    def __init__(self, rule: str) -> None:
        self.rule = rule


def unstorable(text: str) -> bool:
    """True when ``text`` holds a NUL or a lone surrogate."""
    return _UNSTORABLE.search(text) is not None


def refuse(where: str, rule: str) -> InvalidInput:
    """The refusal of the value at ``where`` (a surrogate in the path itself is not echoed)."""
    where = _UNSTORABLE.sub("\ufffd", where)
    return InvalidInput(f"{where}: {rule}", {where: rule})


def loads(raw: str | bytes, where: str = "body") -> Any:
    """Decode a JSON document held to every bound; InvalidInput names what broke one.

    Plain syntax errors stay ``ValueError`` (callers say "not JSON" in their own words),
    unless a bound was broken on the way: that is reported first.
    """
    text = _text(raw, where)
    refused: list[_Refused] = []

    def keep(value: Any) -> Any:
        if isinstance(value, _Refused):
            refused.append(value)
        return value

    try:
        value = json.loads(text, parse_int=lambda s: keep(_integer(s)),
                           parse_float=lambda s: keep(_float(s)),
                           parse_constant=lambda s: keep(_Refused(FINITE_RULE)))
    except RecursionError as err:
        raise refuse(where, DEPTH_RULE) from err
    except ValueError:
        if refused:
            raise refuse(where, refused[0].rule) from None
        raise
    if refused or _UNSTORABLE_ESCAPE.search(text) or unstorable(text) \
            or text.count("[") + text.count("{") > DEPTH_MAX:
        check(value, where)
    return value


def _text(raw: str | bytes, where: str) -> str:
    if isinstance(raw, str):
        return raw
    try:  # strictly: an encoded surrogate (ED A0 80) is not UTF-8 and must not decode to one
        return bytes(raw).decode(json.detect_encoding(raw))
    except UnicodeDecodeError as err:
        raise refuse(where, UTF8_RULE) from err


def _integer(text: str) -> int | _Refused:
    if len(text) - text.startswith("-") > DIGITS_MAX:
        return _Refused(DIGITS_RULE)
    return int(text)


def _float(text: str) -> float | _Refused:
    number = float(text)
    if not math.isfinite(number):
        return _Refused(FINITE_RULE)
    return number if abs(number) < 10.0 ** DIGITS_MAX else _Refused(DIGITS_RULE)


def check(value: Any, where: str = "body") -> Any:
    """``value`` itself when every string, key and number in it is within bounds and it nests
    at most DEPTH_MAX levels; else InvalidInput naming the first offending place. Walks with a
    stack of its own, so no depth makes it recurse."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                raise refuse(path, TEXT_RULE)
        elif isinstance(item, _Refused):
            raise refuse(path, item.rule)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int | float):
            _check_number(item, path)
        elif isinstance(item, dict | list | tuple):
            if depth >= DEPTH_MAX:
                raise refuse(_outermost(path, where), DEPTH_RULE)
            stack.extend(_children(item, path, depth + 1))
    return value


def _outermost(path: str, where: str) -> str:
    """``data.price`` for ``data.price[0][0]...``: the field a person sent, not a path 32 levels
    long (at most the first two keys on the way down; the document when it starts deep)."""
    rest = path[len(where):] if path.startswith(where) else "." + path
    keys = []
    for step in _SEGMENT.findall(rest)[:2]:
        if step.startswith("["):
            break
        keys.append(step)
    named = "".join(keys)
    return (named.lstrip(".") or where) if where == "body" else where + named


def _check_number(number: float, path: str) -> None:
    if isinstance(number, float) and not math.isfinite(number):
        raise refuse(path, FINITE_RULE)
    if abs(number) >= 10 ** DIGITS_MAX:
        raise refuse(path, DIGITS_RULE)


def _children(item: dict | list | tuple, path: str, depth: int) -> list[tuple[Any, str, int]]:
    if not isinstance(item, dict):
        return [(v, f"{path}[{i}]", depth) for i, v in enumerate(item)]
    children = []
    for key, child in item.items():
        name = f"{path}.{key}" if path != "body" else str(key)
        if isinstance(key, str) and unstorable(key):
            raise refuse(name, TEXT_RULE)
        children.append((child, name, depth))
    return children


def bounded_time(moment: datetime, field: str) -> datetime:
    """``moment`` (naive: UTC) when it lies within YEAR_MIN..YEAR_MAX, else InvalidInput."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        year = YEAR_MAX + 1
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidInput(f"{field} is out of range. {YEAR_RULE}", {field: YEAR_RULE})
    return moment


def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 time (or date: its midnight) within the bounds; naive times are UTC."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} is required.", {field: TIME_HINT})
    try:
        parsed = datetime.fromisoformat(value.strip())  # 3.11+ reads "Z" itself
    except ValueError as exc:
        raise InvalidInput(f"{field} is not a time.", {field: TIME_HINT}) from exc
    return bounded_time(parsed, field)

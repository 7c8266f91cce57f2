"""One value of one declared field: is it of the field's kind, and in which form is it stored.

Each kind has a reader ``(spec, value, from_text) -> stored value`` that raises ``Bad`` with the
rest of a sentence that starts with the field's title ("must be a whole number from 0 to 50.").
Readers are pure: whether a referenced entity or a user exists, and whether a unique value is
taken, are asked of the database afterwards (``validation.Lookups``).

Strict by kind, because a guess stored once is wrong for ever:

- JSON gives every kind its own type: an integer is a JSON number (``"12"`` is refused), a
  boolean is ``true``/``false``, a date is a ``"YYYY-MM-DD"`` string.
- A decimal is stored as a string (``"12.50"``: exact, as typed) and so is accepted as a JSON
  number or as a numeric string in plain notation; a JSON float is read to 15 significant digits
  (what a double holds), so ``0.1 + 0.2`` arrives as ``"0.3"``.
- ``from_text`` is for forms and CSV, where every value arrives as a string: there ``"12"`` is
  an integer, ``"true"``/``"on"``/``"false"``/``"off"`` a boolean, ``"48.85"`` a latitude and
  ``"17"`` a reference id. It accepts everything JSON does too.
- An empty string (or only spaces), an empty list and null mean "no value" in both modes.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from webapp.core.base.errors import storable_id
from webapp.core.base.words import label
from webapp.core.fields.spec import NUMBER_LIMIT, TEXT_MAX, FieldSpec

#: Decimal places a decimal may have (more is noise or an attack on the formatter).
DECIMAL_PLACES = 15
#: Items a list field holds when its spec names no max.
LIST_MAX = 1000
#: The longest username (users.username is 80 characters).
USERNAME_MAX = 80

#: Control characters, and lone surrogates (JSON lets them through; no database stores them).
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_TEXT_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
# Digits are [0-9], not \d: "²" or "٣" is no number a person typed into a form.
_WHOLE_TEXT = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ID_TEXT = re.compile(r"[0-9]{1,10}")
_COORDINATE_TEXT = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{1,15})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
                       r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?", re.IGNORECASE)
#: What ``<input type="email">`` accepts (the HTML standard's pattern), so forms and the API agree.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_PHONE = re.compile(r"\+?[0-9 ().\-/]{4,40}")
_TRUE, _FALSE = frozenset({"true", "on"}), frozenset({"false", "off"})


class Bad(ValueError):
    """A value the field cannot hold; the message continues the field's title."""


def is_blank(value: Any) -> bool:
    """No value: null, an empty or blank string, an empty list."""
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def read(spec: FieldSpec, value: Any, from_text: bool) -> Any:
    """The stored form of ``value`` (lists excepted: validation walks their items)."""
    stored = READERS[spec.type](spec, value, from_text)
    if spec.is_text:
        _check_length_and_pattern(spec, stored)
    return stored


# ------------------------------------------------------------------------------ text


def _text(spec: FieldSpec, value: Any, from_text: bool) -> str:
    if not isinstance(value, str):
        raise Bad("must be text.")
    text = value.strip()
    if spec.type == "textarea":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if _TEXT_CONTROL.search(text):
            raise Bad("must be plain text (no control characters).")
    elif _LINE_CONTROL.search(text):
        raise Bad("must be one line of plain text.")
    return text


def _check_length_and_pattern(spec: FieldSpec, text: str) -> None:
    limit = spec.max_length or TEXT_MAX
    if len(text) > limit:
        raise Bad(f"must be at most {limit:,} characters long.")
    if spec.pattern is not None and re.fullmatch(spec.pattern, text) is None:
        raise Bad(f"is not in the expected form{': ' + spec.help if spec.help else '.'}")


def _email(spec: FieldSpec, value: Any, from_text: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise Bad("must be an email address.")
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _url(spec: FieldSpec, value: Any, from_text: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text) if len(text) <= 2048 and not _LINE_CONTROL.search(text) else None
        fine = parts is not None and parts.scheme.lower() in ("http", "https") \
            and bool(parts.hostname) and " " not in text
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 address)
        fine = False
    if not fine:
        raise Bad("must be a web address starting with http:// or https://.")
    return text


def _phone(spec: FieldSpec, value: Any, from_text: bool) -> str:
    """Stored as ``+`` (when given) and the digits alone, so one number is written one way."""
    text = value.strip() if isinstance(value, str) else ""
    digits = re.sub(r"\D", "", text)
    if not _PHONE.fullmatch(text) or not 7 <= len(digits) <= 15:
        raise Bad("must be a phone number of 7 to 15 digits (it may start with +).")
    return f"+{digits}" if text.startswith("+") else digits


def _choice(spec: FieldSpec, value: Any, from_text: bool) -> str:
    text = value.strip() if isinstance(value, str) else None
    choices = spec.choices or ()
    if text not in choices:
        shown = ", ".join(choices[:12]) + (", …" if len(choices) > 12 else "")
        raise Bad(f"must be one of {shown}.")
    return text  # type: ignore[return-value]


def _user(spec: FieldSpec, value: Any, from_text: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > USERNAME_MAX or _LINE_CONTROL.search(text):
        raise Bad("must be the username of an enabled user.")
    return text.lower()  # usernames are stored in lower case; sign-in ignores case too


# --------------------------------------------------------------------------- numbers


def _integer(spec: FieldSpec, value: Any, from_text: bool) -> int:
    number = _whole(value, from_text)
    if number is None:
        raise Bad(number_rule(spec))
    check_bounds(spec, Decimal(number))
    return number


def _whole(value: Any, from_text: bool) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if from_text and isinstance(value, str) and _WHOLE_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _decimal(spec: FieldSpec, value: Any, from_text: bool) -> str:
    number = _exact(value)
    if number is None:
        raise Bad(number_rule(spec))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -DECIMAL_PLACES:
        raise Bad(f"must be a number with at most {DECIMAL_PLACES} decimal places.")
    check_bounds(spec, number)
    return format(number + 0, "f")  # + 0: "-0" is "0"; "f": never "1E+3"


def _exact(value: Any) -> Decimal | None:
    """A finite number as an exact Decimal, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value) if abs(value) <= 10 * NUMBER_LIMIT else Decimal(10 * NUMBER_LIMIT)
    if isinstance(value, float):
        return Decimal(format(value, ".15g")) if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 40 and _DECIMAL_TEXT.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def number_rule(spec: FieldSpec, number: Decimal | None = None) -> str:
    """"must be a number of at least 0.": the kind and the declared bounds in words; when
    ``number`` is beyond the bounds every number keeps, those bounds are said too."""
    noun = "a whole number" if spec.type == "integer" else "a number"
    low, high = spec.min, spec.max
    if number is not None and not -NUMBER_LIMIT <= number <= NUMBER_LIMIT:
        low = -NUMBER_LIMIT if low is None else low
        high = NUMBER_LIMIT if high is None else high
    if low is not None and high is not None:
        return f"must be {noun} from {_said(low)} to {_said(high)}."
    if low is not None:
        return f"must be {noun} of at least {_said(low)}."
    if high is not None:
        return f"must be {noun} of at most {_said(high)}."
    return f"must be {noun}."


def check_bounds(spec: FieldSpec, number: Decimal) -> None:
    low = -NUMBER_LIMIT if spec.min is None else max(spec.min, -NUMBER_LIMIT)
    high = NUMBER_LIMIT if spec.max is None else min(spec.max, NUMBER_LIMIT)
    if not low <= number <= high:
        raise Bad(number_rule(spec, number))


def _said(number: Decimal) -> str:
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return format(number.normalize(), "f")


# ----------------------------------------------------------------- yes/no and time


def _boolean(spec: FieldSpec, value: Any, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if from_text and isinstance(value, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise Bad("must be true or false.")


def _date(spec: FieldSpec, value: Any, from_text: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise Bad("must be a date (YYYY-MM-DD).")


def _datetime(spec: FieldSpec, value: Any, from_text: bool) -> str:
    """Stored in UTC to the second; a time without a zone is taken as UTC."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        if _DATETIME.fullmatch(text):
            moment = datetime.fromisoformat(text.upper().replace(" ", "T", 1))
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        pass
    raise Bad("must be a date and time, e.g. 2025-03-01T09:30:00Z.")


# ------------------------------------------------------------------ ids and places


def _reference(spec: FieldSpec, value: Any, from_text: bool) -> int:
    if from_text and isinstance(value, str) and _ID_TEXT.fullmatch(value.strip()):
        value = int(value.strip())
    if not storable_id(value):
        raise Bad(f"must be the id of {article(label(spec.ref_type))}.")
    return value


def _location(spec: FieldSpec, value: Any, from_text: bool) -> dict[str, float]:
    if isinstance(value, dict) and set(value) == {"lat", "lon"}:
        lat, lon = _coordinate(value["lat"], from_text), _coordinate(value["lon"], from_text)
        if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
            return {"lat": lat, "lon": lon}
    raise Bad("must be a place: a latitude from -90 to 90 and a longitude from -180 to 180.")


def _coordinate(value: Any, from_text: bool) -> float | None:
    if from_text and isinstance(value, str) and _COORDINATE_TEXT.fullmatch(value.strip()):
        return float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) <= 1000 else math.inf
    return number if math.isfinite(number) else None


def article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _list(spec: FieldSpec, value: Any, from_text: bool) -> list[Any]:
    """Only the list's shape and length; its items are fields of their own (validation)."""
    high = LIST_MAX if spec.max is None else min(int(spec.max), LIST_MAX)
    low = 0 if spec.min is None else int(spec.min)
    if not isinstance(value, list):
        raise Bad("must be a list of items.")
    if len(value) > high:
        raise Bad(f"must have from {low:,} to {high:,} items." if low else
                  f"must have at most {high:,} {_items(high)}.")
    if len(value) < low:
        raise Bad(f"must have from {low:,} to {high:,} items." if spec.max is not None else
                  f"must have at least {low:,} {_items(low)}.")
    return value


def _items(n: int) -> str:
    return "item" if n == 1 else "items"


READERS: dict[str, Callable[[FieldSpec, Any, bool], Any]] = {
    "text": _text, "textarea": _text, "integer": _integer, "decimal": _decimal,
    "boolean": _boolean, "date": _date, "datetime": _datetime, "choice": _choice,
    "email": _email, "url": _url, "phone": _phone, "reference": _reference, "user": _user,
    "location": _location, "list": _list,
}

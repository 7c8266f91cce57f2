"""Names from the code said as words: ``under_contract`` reads "under contract", a count
carries its noun ("1 property", "3 properties"), a number its thousands separators ("1,177"),
a day how long ago it was ("today", "3 days ago") and a moment its minutes, never microseconds
("2025-03-03 09:00 UTC").

One helper for every sentence a user reads, from core messages and from the templates (where
they are the filters ``label``, ``plural``, ``pluralize``, ``number``, ``ago`` and ``moment``),
so a status, a count or a time is never said two ways.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

DAY_SECONDS = 86400


def label(name: Any) -> str:
    """``under_contract`` as ``under contract``; nothing (None) as an empty string."""
    return "" if name is None else str(name).replace("_", " ")


def pluralize(noun: str, n: Any = 2) -> str:
    """The noun as a word for ``n`` of them: ``property`` for one, ``properties`` otherwise."""
    word = label(noun)
    if n == 1:
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{word[:-1]}ies"
    return f"{word}{'es' if word.endswith(('s', 'x', 'ch', 'sh')) else 's'}"


def plural(n: Any, noun: str) -> str:
    """``2 properties``, ``1 sales rep``, ``1,200 entries``: a count and its noun."""
    return f"{number(n)} {pluralize(noun, n)}"


def number(n: Any) -> str:
    """``1177`` as ``1,177`` (``1177.5`` as ``1,177.5``); nothing (None) as an empty string,
    anything that is not a number as its text."""
    if n is None:
        return ""
    if isinstance(n, int | float | Decimal) and not isinstance(n, bool):
        return f"{n:,}"
    return str(n)


def ago(then: datetime | None, now: datetime) -> str:
    """How long before ``now`` a moment was, in whole days: ``today`` (under a day, or a moment
    a little ahead of a clock), ``yesterday``, ``3 days ago``; a later day ``in 3 days``."""
    if then is None:
        return ""
    seconds = (now - _utc(then)).total_seconds()
    if seconds < 0:  # ahead of now: whole days ahead
        ahead = int(-seconds // DAY_SECONDS)
        return "today" if ahead == 0 else "tomorrow" if ahead == 1 else f"in {number(ahead)} days"
    days = int(seconds // DAY_SECONDS)
    return "today" if days == 0 else "yesterday" if days == 1 else f"{number(days)} days ago"


def moment(value: datetime | str | None) -> str:
    """A moment for people, in UTC to the minute (seconds only when there are some):
    ``2025-03-03 09:00 UTC``, ``2025-03-03 09:00:15 UTC``. Takes a datetime or ISO 8601 text (a
    time without a zone is UTC); text that is not a time comes back as it was."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    value = _utc(value)
    return value.strftime("%Y-%m-%d %H:%M" + (":%S" if value.second else "") + " UTC")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def either(items: Sequence[str], word: str = "or") -> str:
    """``a``, ``a or b``, ``a, b or c`` (``word`` may be "and")."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"

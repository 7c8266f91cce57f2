"""Names from the code said as words: ``under_contract`` reads "under contract", and a count
carries its noun ("1 property", "3 properties").

One helper for every sentence a user reads, from core messages and from the templates (where
they are the filters ``label``, ``plural`` and ``pluralize``), so a status or a type is never
said two ways.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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
    count = f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)
    return f"{count} {pluralize(noun, n)}"


def either(items: Sequence[str], word: str = "or") -> str:
    """``a``, ``a or b``, ``a, b or c`` (``word`` may be "and")."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"

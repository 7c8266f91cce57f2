"""PII redaction: applied to everything before it reaches the audit log.

A sensitive field's sealed value (``base.sealed``) is written as the bare mask ``••••``: the
audit log holds no key to show its last characters with, and must not keep the sealed value
itself, which a key rotation could not re-encrypt in a hash-chained row.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from webapp.core.base.sealed import MASK, is_sealed

REDACTED = "[REDACTED]"
DEFAULT_KEY_PATTERNS = (
    "email", "e_mail", "phone", "mobile", "password", "passwd", "secret", "token",
    "api_key", "apikey", "ssn", "social_security", "card", "iban", "cvv",
)
#: Levels of nesting redaction looks through. Requests are held to 32 (``base.bounds``); an
#: audit diff wraps a value in a few more. Anything deeper is written as REDACTED whole, so no
#: value can exhaust the recursion of the walk below (or of the hash chain's JSON).
DEPTH_MAX = 64
#: Key patterns in force: the defaults plus what the deployment adds (``configure``).
_key_patterns: tuple[str, ...] = DEFAULT_KEY_PATTERNS


def configure(extra_key_patterns: Iterable[str] = ()) -> None:
    """Add deployment-specific sensitive key patterns (e.g. "salary", "dob") to the defaults."""
    global _key_patterns
    extra = tuple(p.strip().lower() for p in extra_key_patterns if p.strip())
    _key_patterns = DEFAULT_KEY_PATTERNS + extra


def _luhn(number: str) -> bool:
    """The card-number checksum: most long numbers that are not card numbers fail it."""
    digits = [int(ch) for ch in reversed(number) if ch.isdigit()]
    return sum(d if i % 2 == 0 else (d * 2 if d < 5 else d * 2 - 9)
               for i, d in enumerate(digits)) % 10 == 0


def _card(match: re.Match[str]) -> str:
    return REDACTED if _luhn(match.group()) else match.group()


# Order matters: a token is masked whole before the digit patterns could cut it in two.
# Each pattern is bounded on both sides, so it never takes the tail of a longer number or
# word. A bare run of digits is a number, not a phone ("at least 9999999999 days", a Unix
# time, an order number): a phone is known by its shape (separators, brackets, a leading +)
# or by its key (``DEFAULT_KEY_PATTERNS``), and a card number by the Luhn checksum.
_VALUE_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), REDACTED),  # e-mail
    (re.compile(r"(?<![A-Za-z0-9])(?:sk|tok|key)_[A-Za-z0-9_-]{16,}\b"), REDACTED),  # API tokens
    (re.compile(r"(?<![\w+-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-])"), REDACTED),  # SSN-like
    (re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)"), _card),  # card numbers
    # (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567
    (re.compile(r"(?<![\w+(])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
                r"(?!\w)"), REDACTED),
    (re.compile(r"(?<!\w)\+\d(?:[\s.()-]{0,2}\d){6,14}(?!\w)"), REDACTED),  # +44 20 7946 0958
]


def redact_text(text: str) -> str:
    for pattern, replacement in _VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, key_patterns: Iterable[str] | None = None) -> Any:
    """Return a copy with sensitive keys blanked and PII-looking strings masked."""
    patterns = tuple(p.lower() for p in (_key_patterns if key_patterns is None else key_patterns))
    return _redact(value, patterns, 0)


def _redact(value: Any, patterns: tuple[str, ...], depth: int) -> Any:
    if is_sealed(value):
        return MASK
    if isinstance(value, dict | list | tuple) and depth >= DEPTH_MAX:
        return REDACTED  # too deep to look through: dropped rather than risk a leak or a crash
    if isinstance(value, dict):
        return {
            _redact(k, patterns, depth): _redact(v, patterns, depth + 1)
            if is_sealed(v) or not _sensitive(str(k), patterns) else REDACTED
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, patterns, depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # A card number sent as a JSON number is still one (and none is 20 digits long).
        return REDACTED if abs(value) < 10 ** 19 and redact_text(str(value)) != str(value) \
            else value
    return value


def _sensitive(key: str, patterns: tuple[str, ...]) -> bool:
    lowered = key.lower()
    return any(p in lowered for p in patterns)

"""PII redaction: applied to everything before it reaches the audit log."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
DEFAULT_KEY_PATTERNS = (
    "email", "e_mail", "phone", "mobile", "password", "passwd", "secret", "token",
    "api_key", "apikey", "ssn", "social_security", "card", "iban", "cvv",
)
#: Key patterns in force: the defaults plus what the deployment adds (``configure``).
_key_patterns: tuple[str, ...] = DEFAULT_KEY_PATTERNS


def configure(extra_key_patterns: Iterable[str] = ()) -> None:
    """Add deployment-specific sensitive key patterns (e.g. "salary", "dob") to the defaults."""
    global _key_patterns
    extra = tuple(p.strip().lower() for p in extra_key_patterns if p.strip())
    _key_patterns = DEFAULT_KEY_PATTERNS + extra


# Order matters: a token is masked whole before the digit patterns could cut it in two.
_VALUE_PATTERNS = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    re.compile(r"(?<![A-Za-z0-9])(?:sk|tok|key)_[A-Za-z0-9_-]{16,}\b"),  # our API tokens and similar
    re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b"),  # SSN-like
    re.compile(r"\b\d(?:[ -]?\d){12,18}\b"),  # card numbers
    re.compile(r"(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b"),  # phone
    re.compile(r"\+\d(?:[\s.()-]{0,2}\d){6,14}\b"),  # international phone: +44 20 7946 0958
]


def redact_text(text: str) -> str:
    for pattern in _VALUE_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, key_patterns: Iterable[str] | None = None) -> Any:
    """Return a copy with sensitive keys blanked and PII-looking strings masked."""
    patterns = tuple(p.lower() for p in (_key_patterns if key_patterns is None else key_patterns))
    return _redact(value, patterns)


def _redact(value: Any, patterns: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {
            _redact(k, patterns): REDACTED if _sensitive(str(k), patterns) else _redact(v, patterns)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, patterns) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # A phone or card number sent as a JSON number is still one.
        return REDACTED if redact_text(str(value)) != str(value) else value
    return value


def _sensitive(key: str, patterns: tuple[str, ...]) -> bool:
    lowered = key.lower()
    return any(p in lowered for p in patterns)

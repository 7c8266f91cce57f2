"""What a sealed (encrypted) value looks like, so that code without the key can spot one.

Sensitive fields are stored as ``enc:v1:<key id>:<token>`` strings (``webapp/core/fields/
secrets.py`` makes and opens them). The audit log sits below the fields package and holds no
key, yet must never keep a sealed value: it cannot be re-encrypted there when keys rotate (the
rows are hash-chained), so it writes ``MASK`` in its place. The format is defined here, once,
for both.
"""
from __future__ import annotations

from typing import Any

PREFIX = "enc:v1:"
#: What a person sees instead of a value they may not read (plus at most its last 4 characters).
MASK = "••••"


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id(value: str) -> str:
    """The id of the key a sealed value was made with ("" when it is not one)."""
    if not is_sealed(value):
        return ""
    return value[len(PREFIX):].partition(":")[0]

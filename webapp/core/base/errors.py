"""Errors the core raises; each maps to one answer of the contract (CONTRACT.md §6)."""
from __future__ import annotations

from typing import Any

#: The largest row id every database we run on can hold: ids are PostgreSQL ``integer``s
#: (SQLite's go to 2**63 - 1). A larger one names nothing, and on PostgreSQL merely comparing
#: it with an id column is an error, so it is refused before it reaches a query.
ID_MAX = 2**31 - 1


def storable_id(value: object) -> bool:
    """True for a whole number a database row id could be."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


class StatekeeperError(Exception):
    """Base: a refusal a person can act on. ``status`` and ``code`` become the JSON error."""

    status = 400
    code = "invalid_input"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


class InvalidInput(StatekeeperError):
    """Bad input; ``fields`` names each offending field with a sentence."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message, fields=fields or {})
        self.fields = fields or {}


class NotFound(StatekeeperError):
    status = 404
    code = "not_found"


class PermissionDenied(StatekeeperError):
    status = 403
    code = "forbidden"


class ConcurrencyConflict(StatekeeperError):
    status = 409
    code = "concurrency_conflict"

    def __init__(self, message: str, your_version: int | None, current_version: int) -> None:
        super().__init__(message, your_version=your_version, current_version=current_version)
        self.current_version = current_version


class InvalidTransition(StatekeeperError):
    """The workflow has no such move from the current state (or not for this role)."""

    status = 422
    code = "invalid_transition"

    def __init__(self, message: str, messages: list[str] | None = None) -> None:
        super().__init__(message, messages=messages or [message])
        self.messages = messages or [message]


class RuleViolation(InvalidTransition):
    """The move exists but a business rule refuses it."""

    code = "rule_violation"


class CascadeLoop(InvalidTransition):
    """The follow-ups of a change (cascades and derived statuses) never settle: they loop, or
    outrun the wave budget. The whole command is refused, so nothing of it is written: a
    partial cascade would leave relatives half-moved with no error to say so."""

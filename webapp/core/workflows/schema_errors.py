"""The workflow schema's complaints as a person reads them: pydantic's errors as
``{path: sentence}`` with paths written as in a file (``types.ticket.transitions[2].rolse``).
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from webapp.core.fields.spec import NAME as FIELD_NAME
from webapp.core.settings.store import KEY_PATTERN
from webapp.core.workflows.rules import RULE_KINDS

TYPE_NAME = r"^[a-z][a-z0-9_]{0,49}$"
#: States and transitions: they are stored in 50-character columns and appear in URLs.
STATE_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,49}$"
#: What a name that breaks a pattern should look like, in words.
PATTERN_WORDS = {
    TYPE_NAME: "lower-case letters, digits and _, starting with a letter (at most 50)",
    STATE_NAME: "letters, digits and _, starting with a letter (at most 50)",
    FIELD_NAME.pattern: "lower-case letters, digits and _, starting with a letter (at most 63)",
    KEY_PATTERN.pattern: "lower-case letters, digits and _, starting with a letter (at most 80)",
}
# ----------------------------------------------------------------------- the errors

def paths(err: ValidationError, prefix: tuple[str | int, ...] = ()) -> dict[str, str]:
    """pydantic's errors as {path: sentence}, paths as a person writes them:
    ``types.ticket.transitions[2].rolse``. The first complaint about a path is kept."""
    out: dict[str, str] = {}
    for error in err.errors(include_url=False):
        loc = (*prefix, *error["loc"])
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "kind")
        out.setdefault(_path(loc), _sentence(error))
    return out


def _path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]" or _is_rule_tag(loc, i):
            continue  # pydantic's markers: a dict key's own check, the rule kind chosen
        else:
            out += f".{part}" if out else part
    return out or "file"


def _is_rule_tag(loc: tuple[str | int, ...], i: int) -> bool:
    return i >= 2 and loc[i - 2] == "rules" and isinstance(loc[i - 1], int) and loc[i] in RULE_KINDS


def _sentence(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if error["loc"] and error["loc"][-1] == "[key]" and kind == "string_pattern_mismatch":
        return f"is not a valid name: use {PATTERN_WORDS.get(ctx['pattern'], ctx['pattern'])}"
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "literal_error":
        return f"must be one of {_unquote(ctx['expected'])}"
    if kind == "union_tag_invalid":
        return f"must be one of {_unquote(ctx['expected_tags'])}"
    if kind == "string_pattern_mismatch":
        return f"must be {PATTERN_WORDS.get(ctx['pattern'], 'text matching ' + ctx['pattern'])}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty" if ctx.get("min_length", 1) == 1 else (
            f"must have at least {ctx['min_length']} items")
    if kind == "value_error":
        return str(ctx["error"])
    return _ANY_OTHER.get(kind, "{msg}").format(**ctx, msg=_predicate(error["msg"]))


_FIXED = {
    "extra_forbidden": "is not a known key",
    "missing": "is required",
    "union_tag_not_found": "is required",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}
_ANY_OTHER = {
    "string_too_long": "must be at most {max_length} characters",
    "too_long": "must have at most {max_length} items",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
}


def _predicate(msg: str) -> str:
    """pydantic's own words as a predicate: "Input should be a valid date" -> "must be …"."""
    return msg.replace("Input should be", "must be").replace("Value error, ", "")


def _unquote(expected: str) -> str:
    return expected.replace("'", "")


def problem_line(path: str, sentence: str) -> str:
    """``types.ticket.transitions[2].rolse is not a known key.``"""
    joiner = " " if sentence.split(" ", 1)[0] in ("is", "must", "needs", "has") else ": "
    return f"{path}{joiner}{sentence.rstrip('.')}."

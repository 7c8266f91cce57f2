"""Business rules (guards): a registry of rule kinds with typed parameters.

Each kind checks a whole batch of entities at once and returns, for every entity it refuses,
a sentence the user can act on. Single changes are a batch of one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from webapp.core.base.relations import descendants
from webapp.core.settings.store import REGISTRY as SETTINGS
from webapp.core.workflows.definition import RuleSpec
from webapp.models import Entity

Failures = dict[int, str]


@dataclass(frozen=True)
class RuleContext:
    session: Session
    now: datetime
    settings: dict[str, Any]
    action: str
    target: str
    comment: str | None = None


@dataclass(frozen=True)
class RuleKind:
    name: str
    label: str
    #: Parameter name -> type (int, str, list) for the editor's typed form.
    params: dict[str, type]
    check: Callable[[RuleContext, Sequence[Entity], dict[str, Any]], Failures]
    #: Checks beyond the parameter types: {parameter: complaint} for values it cannot use.
    validate: Callable[[dict[str, Any]], dict[str, str]] | None = None


RULE_KINDS: dict[str, RuleKind] = {}


def rule_kind(name: str, label: str, validate: Callable[[dict[str, Any]], dict[str, str]] | None = None,
              **params: type):
    def register(fn: Callable[[RuleContext, Sequence[Entity], dict[str, Any]], Failures]):
        RULE_KINDS[name] = RuleKind(name, label, params, fn, validate)
        return fn
    return register


def validate_params(spec: RuleSpec) -> dict[str, str]:
    """Errors for a rule's parameters, keyed by parameter name (empty when valid)."""
    kind = RULE_KINDS.get(spec.kind)
    if kind is None:
        return {"kind": f"unknown rule kind {spec.kind!r}"}
    errors = {}
    for pname, ptype in kind.params.items():
        value = spec.params.get(pname)
        if value is None or (ptype is not list and not isinstance(value, ptype)) or (
                ptype is list and not (isinstance(value, list) and value)):
            errors[pname] = f"needs a {_type_word(ptype)}"
        elif ptype is int and value < 0:
            errors[pname] = "must not be negative"
    if not errors and kind.validate:
        errors = kind.validate(spec.params)
    return errors


def _type_word(ptype: type) -> str:
    return {int: "whole number", str: "text", list: "non-empty list"}.get(ptype, ptype.__name__)


def evaluate(ctx: RuleContext, rules: Sequence[RuleSpec], entities: Sequence[Entity]) -> dict[int, list[str]]:
    """Every refusal for every entity: {entity id: [sentences]} (absent ids pass)."""
    failures: dict[int, list[str]] = {}
    for spec in rules:
        kind = RULE_KINDS[spec.kind]
        for entity_id, message in kind.check(ctx, entities, spec.params).items():
            failures.setdefault(entity_id, []).append(spec.message or message)
    return failures


def plural(n: int, noun: str) -> str:
    """``2 properties``, ``1 sales rep``: a count and its noun for the sentences users read."""
    word = noun.replace("_", " ")
    if n == 1:
        return f"{n} {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{n} {word[:-1]}ies"
    return f"{n} {word}{'es' if word.endswith(('s', 'x', 'ch', 'sh')) else 's'}"


def _label(entity: Entity) -> str:
    return f"{entity.type.replace('_', ' ').capitalize()} {entity.name!r}"


@rule_kind("min_age", "Minimum age", days=int)
def _min_age(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    days = p["days"]
    out = {}
    for e in entities:
        age = (ctx.now - e.created_at).days
        if age < days:
            out[e.id] = (f"{_label(e)} is {age} days old; it must be at least {days} days old "
                         f"to {ctx.action.replace('_', ' ')}.")
    return out


@rule_kind("no_related_in_states", "No related entities in states", path=list, states=list)
def _no_related(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    found = descendants(ctx.session, [e.id for e in entities], p["path"], p["states"])
    out = {}
    for e in entities:
        if found.get(e.id):
            n, states = len(found[e.id]), " or ".join(p["states"])
            out[e.id] = (f"{_label(e)} has {plural(n, p['path'][-1])} {states}; "
                         f"it cannot go {ctx.target} until {'they are' if n != 1 else 'it is'} resolved.")
    return out


@rule_kind("required_fields", "Required data fields", fields=list)
def _required(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    out = {}
    for e in entities:
        missing = [f for f in p["fields"] if _empty((e.data or {}).get(f))]
        if missing:
            out[e.id] = (f"{_label(e)} needs {', '.join('data.' + m for m in missing)} "
                         f"before it can {ctx.action.replace('_', ' ')}.")
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "in": lambda a, b: a in b, "not_in": lambda a, b: a not in b,
    "gt": lambda a, b: a is not None and a > b, "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b, "lte": lambda a, b: a is not None and a <= b,
}


def _known_op(p: dict[str, Any]) -> dict[str, str]:
    return {} if p["op"] in _OPS else {"op": f"must be one of {', '.join(_OPS)}"}


@rule_kind("field_condition", "Data field condition", _known_op, field=str, op=str)
def _field_condition(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    op, expected, name = _OPS[p["op"]], p.get("value"), p["field"]
    out = {}
    for e in entities:
        actual = (e.data or {}).get(name)
        try:
            ok = op(actual, expected)
        except TypeError:
            ok = False
        if not ok:
            out[e.id] = (f"data.{name} is {actual!r}; it must be {p['op'].replace('_', ' ')} "
                         f"{expected!r} to {ctx.action.replace('_', ' ')}.")
    return out


@rule_kind("comment_required", "Comment required")
def _comment(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    if ctx.comment and ctx.comment.strip():
        return {}
    return {e.id: f"A comment is required to {ctx.action.replace('_', ' ')}." for e in entities}


def _known_day_setting(p: dict[str, Any]) -> dict[str, str]:
    setting = SETTINGS.get(p["setting"])
    if setting is None or setting.type is not int:
        return {"setting": "is not a known setting (a whole-number day of the month)"}
    return {}


@rule_kind("cutoff_day", "Day-of-month cutoff from a setting", _known_day_setting, setting=str)
def _cutoff(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    cutoff = ctx.settings.get(p["setting"])
    if cutoff is None or ctx.now.day <= cutoff:
        return {}
    message = (f"It is past day {cutoff} of the month (setting {p['setting']}); "
               f"{ctx.action.replace('_', ' ')} is closed until next month.")
    return {e.id: message for e in entities}


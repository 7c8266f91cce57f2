"""Business rules (guards): a registry of rule kinds with typed parameters.

Each kind checks a whole batch of entities at once and returns, for every entity it refuses,
a sentence the user can act on. Single changes are a batch of one.

Rules that read ``data`` read it as the type declares it (CONTRACT §7): a decimal compares as
a number ("9.5" is less than "10"), a date as a date, a list is there only when it has items,
and refusals name the field by its title ("Vendor is required before it can approve.").
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.relations import descendants
from webapp.core.base.words import either, label, plural
from webapp.core.fields.spec import FIELD_TYPES, FieldSpec, parse_fields
from webapp.core.settings.store import REGISTRY as SETTINGS
from webapp.core.workflows.definition import RuleSpec
from webapp.models import Entity, WorkflowDefinition

Failures = dict[int, str]
Fields = Mapping[str, FieldSpec]


@dataclass(frozen=True)
class RuleContext:
    session: Session
    now: datetime
    settings: dict[str, Any]
    action: str
    target: str
    comment: str | None = None
    #: The declared fields of the entities' type (a draft's, when checking one); None: the
    #: rules read the type's stored workflow.
    fields: Fields | None = None


@dataclass(frozen=True)
class RuleKind:
    name: str
    label: str
    #: Parameter name -> type (int, str, list) for the editor's typed form.
    params: dict[str, type]
    check: Callable[[RuleContext, Sequence[Entity], dict[str, Any]], Failures]
    #: Checks beyond the parameter types: {parameter: complaint} for values it cannot use.
    validate: Callable[[dict[str, Any]], dict[str, str]] | None = None
    #: Parameters that name data fields -> the field types they accept; the editor offers
    #: the type's declared fields of those types, and a rule naming any other is refused.
    field_params: dict[str, frozenset[str]] = field(default_factory=dict)


RULE_KINDS: dict[str, RuleKind] = {}
ANY_FIELD = frozenset(FIELD_TYPES)
LOCATION = frozenset({"location"})
#: What field_condition can compare: everything but lists and places.
COMPARABLE = ANY_FIELD - {"list", "location"}


def rule_kind(name: str, label: str, validate: Callable[[dict[str, Any]], dict[str, str]] | None = None,
              field_params: dict[str, frozenset[str]] | None = None, **params: type):
    def register(fn: Callable[[RuleContext, Sequence[Entity], dict[str, Any]], Failures]):
        RULE_KINDS[name] = RuleKind(name, label, params, fn, validate, field_params or {})
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


def field_problems(spec: RuleSpec, declared: Fields) -> dict[str, str]:
    """Errors for the fields a rule names, against the type's declared fields (none when the
    type declares no fields: its data is free-form): {parameter: complaint}."""
    kind = RULE_KINDS.get(spec.kind)
    if kind is None or not declared:
        return {}
    errors = {}
    for pname, accepted in kind.field_params.items():
        value = spec.params.get(pname)
        for name in value if isinstance(value, list) else [value]:
            found = declared.get(name) if isinstance(name, str) else None
            if found is None:
                errors[pname] = f"names {name!r}, which is not a declared field"
            elif found.type not in accepted:
                need = (f"it needs {either([f'a {t}' for t in sorted(accepted)])} field"
                        if len(accepted) < 3 else "this kind of rule cannot use one")
                errors[pname] = f"names {name!r}, a {found.type} field; {need}"
    if spec.kind == "field_condition" and "field" not in errors:
        errors |= _value_problem(declared[spec.params["field"]], spec.params)
    return errors


def _value_problem(spec: FieldSpec, p: dict[str, Any]) -> dict[str, str]:
    values = p.get("value") if p.get("op") in ("in", "not_in") else [p.get("value")]
    try:
        for v in values if isinstance(values, list) else [values]:
            typed(spec, v)
    except ValueError:
        return {"value": f"must be {_KIND_WORDS.get(spec.type, 'a ' + spec.type)} to compare "
                         f"with {spec.title(p['field'])}"}
    return {}


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


def _label(entity: Entity) -> str:
    return f"{label(entity.type).capitalize()} {entity.name!r}"


# ------------------------------------------------------------------------ typed values

def declared_fields(ctx: RuleContext, entities: Sequence[Entity]) -> Fields:
    """The fields the entities' type declares (a batch is always of one type)."""
    if ctx.fields is not None or not entities:
        return ctx.fields or {}
    doc = ctx.session.scalar(select(WorkflowDefinition.definition)
                             .where(WorkflowDefinition.entity_type == entities[0].type))
    return _parsed(json.dumps((doc or {}).get("fields") or {}, sort_keys=True))


@lru_cache(maxsize=64)
def _parsed(fields_json: str) -> Fields:
    # Parsing specs costs more than the query; the same block parses to the same specs.
    return parse_fields(json.loads(fields_json))


def typed(spec: FieldSpec | None, value: Any) -> Any:
    """A stored value as its declared type compares: Decimal for numbers, date, aware datetime;
    other types (and undeclared fields) as stored. Raises ValueError when it cannot be read."""
    if spec is None or value is None:
        return value
    try:
        if spec.type in ("decimal", "integer"):
            return _number(value)
        if spec.type == "date":
            return date.fromisoformat(value) if isinstance(value, str) else _not_read(value)
        if spec.type == "datetime":
            return _moment(value)
    except (ArithmeticError, TypeError) as exc:
        raise ValueError(f"{value!r} is not a {spec.type}") from exc
    return value


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        _not_read(value)
    number = Decimal(str(value).strip())
    if not number.is_finite():
        _not_read(value)
    return number


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        _not_read(value)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _not_read(value: Any) -> Any:
    raise ValueError(f"{value!r} cannot be read as its field's type")


def _present(spec: FieldSpec | None, value: Any) -> bool:
    """Filled in: not nothing, not blank text, a list with items, a place with both parts."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    if spec is not None and spec.type == "list":
        return isinstance(value, list) and bool(value)
    if spec is not None and spec.type == "location":
        return _point(value) is not None
    return value not in ([], {})


def _title(declared: Fields, name: str) -> str:
    spec = declared.get(name)
    return spec.title(name) if spec else label(name).capitalize()


def _shown(value: Any) -> str:
    """A value as a sentence says it: ``9.5``, ``2025-03-31``, ``HIGH, CRITICAL``."""
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


_KIND_WORDS = {"decimal": "a number", "integer": "a whole number", "date": "a date (YYYY-MM-DD)",
               "datetime": "a date and time (YYYY-MM-DDTHH:MM:SSZ)"}


# ------------------------------------------------------------------------------ kinds

@rule_kind("min_age", "Minimum age", days=int)
def _min_age(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    days = p["days"]
    out = {}
    for e in entities:
        age = (ctx.now - e.created_at).days
        if age < days:
            out[e.id] = (f"{_label(e)} is {age} days old; it must be at least {days} days old "
                         f"to {label(ctx.action)}.")
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


@rule_kind("required_fields", "Required data fields", field_params={"fields": ANY_FIELD},
           fields=list)
def _required(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    declared = declared_fields(ctx, entities)
    out = {}
    for e in entities:
        data = e.data or {}
        missing = [_title(declared, f) for f in p["fields"]
                   if not _present(declared.get(f), data.get(f))]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            out[e.id] = (f"{either(missing, 'and')} {verb} required before it can "
                         f"{label(ctx.action)}.")
    return out


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "in": lambda a, b: a in b, "not_in": lambda a, b: a not in b,
    "gt": lambda a, b: a is not None and a > b, "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b, "lte": lambda a, b: a is not None and a <= b,
}
#: "it must ... 70": the comparison as a refusal says it.
_OP_WORDS = {"eq": "be", "ne": "not be", "in": "be one of", "not_in": "not be one of",
             "gt": "be more than", "gte": "be at least", "lt": "be less than", "lte": "be at most"}


def _known_op(p: dict[str, Any]) -> dict[str, str]:
    return {} if p["op"] in _OPS else {"op": f"must be one of {', '.join(_OPS)}"}


@rule_kind("field_condition", "Data field condition", _known_op,
           field_params={"field": COMPARABLE}, field=str, op=str)
def _field_condition(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    name, op, expected = p["field"], p["op"], p.get("value")
    spec = declared_fields(ctx, entities).get(name)
    wanted = _expected(spec, op, expected)
    out = {}
    for e in entities:
        actual = (e.data or {}).get(name)
        if not _holds(_OPS[op], spec, actual, wanted):
            said = "not filled in" if not _present(spec, actual) else _shown(actual)
            title = spec.title(name) if spec else label(name).capitalize()
            out[e.id] = (f"{title} is {said}; it must {_OP_WORDS[op]} {_shown(expected)} "
                         f"to {label(ctx.action)}.")
    return out


def _expected(spec: FieldSpec | None, op: str, value: Any) -> Any:
    """The rule's value as the field's type (left as written when it cannot be: the
    comparison then refuses, and the editor says why before saving)."""
    try:
        if op in ("in", "not_in") and isinstance(value, list):
            return [typed(spec, v) for v in value]
        return typed(spec, value)
    except ValueError:
        return value


def _holds(op: Callable[[Any, Any], bool], spec: FieldSpec | None, actual: Any, wanted: Any) -> bool:
    try:
        return op(typed(spec, actual), wanted)
    except (TypeError, ValueError, ArithmeticError):
        return False  # a stored value that no longer reads as its type fails the condition


@rule_kind("comment_required", "Comment required")
def _comment(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    if ctx.comment and ctx.comment.strip():
        return {}
    return {e.id: f"A comment is required to {label(ctx.action)}." for e in entities}


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
               f"{label(ctx.action)} is closed until next month.")
    return {e.id: message for e in entities}


# --------------------------------------------------------------------------- geofence

#: The mean radius of the Earth (IUGG), in meters.
EARTH_RADIUS_M = 6_371_008.8


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in meters (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _point(value: Any) -> tuple[float, float] | None:
    """A stored location as (lat, lon), or None when it is missing or not a place."""
    if not isinstance(value, dict):
        return None
    lat, lon = value.get("lat"), value.get("lon")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        return None
    return (float(lat), float(lon)) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _known_distance_setting(p: dict[str, Any]) -> dict[str, str]:
    setting = SETTINGS.get(p["meters_setting"])
    if setting is None or setting.type not in (int, float):
        return {"meters_setting": "is not a known setting (a distance in meters)"}
    return {}


@rule_kind("geofence", "Within a distance of a place", _known_distance_setting,
           field_params={"field": LOCATION, "center_field": LOCATION},
           field=str, center_field=str, meters_setting=str)
def _geofence(ctx: RuleContext, entities: Sequence[Entity], p: dict[str, Any]) -> Failures:
    declared = declared_fields(ctx, entities)
    where, center = _title(declared, p["field"]), _title(declared, p["center_field"])
    meters, key, action = ctx.settings.get(p["meters_setting"]), p["meters_setting"], label(ctx.action)
    if meters is None:
        return {e.id: f"The setting {key} is not known, so {action} cannot check the distance "
                      f"from {center}." for e in entities}
    within = f"within {meters:,.0f} m"
    out = {}
    for e in entities:
        data = e.data or {}
        here, there = _point(data.get(p["field"])), _point(data.get(p["center_field"]))
        if here is None or there is None:
            gone = [t for t, pt in ((where, here), (center, there)) if pt is None]
            out[e.id] = (f"{either(gone, 'and')} {'is' if len(gone) == 1 else 'are'} not "
                         f"filled in; to {action}, {where} must be {within} of {center}.")
        elif (away := distance_m(here, there)) > meters:
            out[e.id] = (f"{where} is {away:,.0f} m from {center}; it must be {within} "
                         f"(setting {key}) to {action}.")
    return out

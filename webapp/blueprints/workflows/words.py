"""Rules, cascades, derived statuses and sweeps of a workflow, said in plain words."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.core.base.words import either, label, plural, pluralize
from webapp.core.workflows.definition import Cascade, Derivation, RuleSpec, SweepSpec, Workflow
from webapp.core.workflows.rules import RULE_KINDS

OPERATORS = {"eq": "is", "ne": "is not", "in": "is one of", "not_in": "is not one of",
             "gt": "is more than", "gte": "is at least", "lt": "is less than",
             "lte": "is at most"}


def rule(spec: RuleSpec, settings: Mapping[str, Any]) -> str:
    """One rule as a sentence, e.g. "Needs data.vendor filled in."."""
    p, say = spec.params, _SAYINGS.get(spec.kind)
    try:
        text = say(p, settings) if say else f"{spec.kind} {p}"
    except (KeyError, TypeError):
        text = f"{spec.kind} with parameters {p}"
    return text + (f' Refuses with: "{spec.message}"' if spec.message else "")


def kind_label(kind: str) -> str:
    found = RULE_KINDS.get(kind)
    return found.label if found else kind


def _min_age(p: dict[str, Any], _s: Mapping[str, Any]) -> str:
    return f"Only once it is at least {plural(p['days'], 'day')} old."


def _no_related(p: dict[str, Any], _s: Mapping[str, Any]) -> str:
    path = p["path"]
    via = f" (through its {' and '.join(pluralize(t) for t in path[:-1])})" if len(path) > 1 else ""
    return f"Not while any of its {pluralize(path[-1])}{via} is {either(p['states'])}."


def _required(p: dict[str, Any], _s: Mapping[str, Any]) -> str:
    return f"Needs {either(['data.' + f for f in p['fields']], 'and')} filled in."


def _condition(p: dict[str, Any], _s: Mapping[str, Any]) -> str:
    return f"Only when data.{p['field']} {OPERATORS.get(p['op'], p['op'])} {p.get('value')!r}."


def _comment(_p: dict[str, Any], _s: Mapping[str, Any]) -> str:
    return "Needs a comment."


def _cutoff(p: dict[str, Any], s: Mapping[str, Any]) -> str:
    now = s.get(p["setting"])
    return (f"Not after day {now if now is not None else '?'} of the month "
            f"(setting {p['setting']}).")


def _geofence(p: dict[str, Any], s: Mapping[str, Any]) -> str:
    meters = s.get(p["meters_setting"])
    return (f"Only when data.{p['field']} is within {meters if meters is not None else '?'} m "
            f"of data.{p['center_field']} (setting {p['meters_setting']}).")


_SAYINGS = {"min_age": _min_age, "no_related_in_states": _no_related,
            "required_fields": _required, "field_condition": _condition,
            "comment_required": _comment, "cutoff_day": _cutoff, "geofence": _geofence}


def cascade(wf: Workflow, c: Cascade) -> str:
    via = f" (through its {' and '.join(pluralize(t) for t in c.path[:-1])})" if len(c.path) > 1 else ""
    return (f"When a {label(wf.entity_type)} enters {c.on_enter}, its {pluralize(c.path[-1])}{via} "
            f"that are {either(c.from_states)} move to {c.to}.")


def derived(wf: Workflow, d: Derivation, settings: Mapping[str, Any]) -> str:
    steps = [f"{to} when at most {_amount(n, settings)} {pluralize(d.child_type)} are "
             f"{either(d.count_states)}" for n, to in d.thresholds]
    return (f"A {label(wf.entity_type)} that is {either(d.applies_in)} becomes "
            f"{either(steps, 'or else')}; counted each time one of its {pluralize(d.child_type)} "
            f"becomes {either(d.trigger_states)}.")


def _amount(n: int | str, settings: Mapping[str, Any]) -> str:
    if isinstance(n, int):
        return str(n)
    return f"{settings.get(n, '?')} (setting {n})"


def sweep(wf: Workflow, s: SweepSpec, settings: Mapping[str, Any]) -> str:
    name = wf.entity_type
    grace, warn = s.grace_setting, s.warning_setting
    back = f"; recording activity brings it back to {s.reactivate_to}" if s.reactivate_to else ""
    return (f"A {label(name)} that is {either(s.from_states)} with no activity for "
            f"{settings.get(grace, '?')} days (setting {grace}) moves to {s.inactive_state}, "
            f"after a warning at {settings.get(warn, '?')} days (setting {warn}){back}.")

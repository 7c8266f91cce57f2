"""A draft checked against the entities as they are (CONTRACT §10): how many sit in states the
draft removes (stranded), which moves allowed today the draft would block (per transition,
with examples), and how many entities the changed sweep and SLA clocks would touch.

Reads only. Where rules must be evaluated, at most ``CAP`` entities per (transition, state)
are looked at, lowest ids first (the answer says so); counts that need no rule are exact.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.base.capabilities import roles_with
from webapp.core.base.relations import chunked
from webapp.core.workflows.definition import Transition, Workflow
from webapp.core.workflows.editing import first_ids, source_states
from webapp.core.workflows.rules import RuleContext, evaluate
from webapp.models import Entity, EntityCount

CAP = 5000
EXAMPLES = 5


@dataclass
class Blocked:
    """How many entities could take ``action`` today but not under the draft."""

    action: str
    count: int = 0
    scanned: int = 0
    capped: bool = False
    examples: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, ids: Sequence[int], reason: str) -> None:
        if ids:
            self.count += len(ids)
            self.examples += list(ids)[:EXAMPLES - len(self.examples)]
            if reason not in self.reasons:
                self.reasons.append(reason)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "examples": self.examples, "reasons": self.reasons,
                "capped": self.capped}


def stranded(session: Session, entity_type: str, draft: Workflow,
             also: Sequence[str] = ()) -> dict[str, int]:
    """Entities per status the draft does not have (statuses with none are left out)."""
    candidates = set(session.scalars(select(EntityCount.status).where(
        EntityCount.type == entity_type, EntityCount.n > 0))) | set(also)
    out = {}
    for status in sorted(candidates - set(draft.states)):
        n = session.scalar(select(func.count()).select_from(Entity).where(
            Entity.type == entity_type, Entity.status == status)) or 0
        if n:
            out[status] = n
    return out


def newly_blocked(session: Session, current: Workflow, draft: Workflow,
                  settings: dict[str, Any], now: datetime, cap: int = CAP) -> dict[str, Blocked]:
    """Per transition in force: the entities that may take it now and could not under the
    draft (its move gone from their state, roles narrowed, or a changed rule refusing)."""
    out: dict[str, Blocked] = {}
    for t in current.transitions:
        found = Blocked(t.name)
        for state in (s for s in source_states(current, t) if s in draft.states):
            _check_state(session, current, draft, t, state, settings, now, cap, found)
        if found.count:
            out[t.name] = found
    return out


def _check_state(session: Session, current: Workflow, draft: Workflow, t: Transition,
                 state: str, settings: dict[str, Any], now: datetime, cap: int,
                 found: Blocked) -> None:
    d = move_under(draft, t, state)
    operators = roles_with("operate")
    lost = sorted(set(t.roles or operators) - set(d.roles or operators)) if d else []
    rules_changed = d is not None and _rules(d) != _rules(t)
    if d is not None and not lost and not rules_changed:
        return
    why = (f"the draft has no move from {state} to {t.target}" if d is None
           else f"{', '.join(lost)} may no longer take it" if lost else "")
    if why and not t.rules:  # nothing to evaluate: every entity in the state counts, exactly
        n = session.scalar(select(func.count()).select_from(Entity).where(
            Entity.type == current.entity_type, Entity.status == state)) or 0
        found.scanned += n
        if n:
            found.count += n
            found.examples += first_ids(session, current.entity_type, [state],
                                        EXAMPLES - len(found.examples))
            found.reasons.append(f"In {state}: {why}.")
        return
    ids = first_ids(session, current.entity_type, [state], cap + 1)
    found.capped |= len(ids) > cap
    found.scanned += min(len(ids), cap)
    for part in chunked(ids[:cap], 500):
        batch = list(session.scalars(select(Entity).where(Entity.id.in_(part)).order_by(Entity.id)))
        today = evaluate(_ctx(session, now, settings, current, t), t.rules, batch)
        passing = [e for e in batch if e.id not in today]
        if why:
            found.add([e.id for e in passing], f"In {state}: {why}.")
            continue
        assert d is not None
        refused = evaluate(_ctx(session, now, settings, draft, d), d.rules, passing)
        for eid, messages in refused.items():
            found.add([eid], f"In {state}: {messages[0]}")


def move_under(draft: Workflow, t: Transition, state: str) -> Transition | None:
    """The draft's move from ``state`` to ``t``'s target: the same-named one first."""
    same = draft.by_name(t.name)
    if same is not None and same.target == t.target and same in draft.transitions_from(state):
        return same
    return draft.find(state, t.target)


def _rules(t: Transition) -> str:
    return json.dumps([(r.kind, r.params, r.message) for r in t.rules], sort_keys=True,
                      default=str)


def _ctx(session: Session, now: datetime, settings: dict[str, Any], wf: Workflow,
         t: Transition) -> RuleContext:
    return RuleContext(session, now, settings, t.name, t.target, fields=wf.fields)


def touched(session: Session, current: Workflow, draft: Workflow) -> dict[str, Any]:
    """How many entities the changed sweep and SLA clocks would cover: ``{"sweep": {"before",
    "after"}, "slas": {name: n}}`` (only what changed)."""
    out: dict[str, Any] = {}
    if _sweep_key(current) != _sweep_key(draft):
        out["sweep"] = {"before": _in_states(session, current.entity_type, _swept(current)),
                        "after": _in_states(session, current.entity_type, _swept(draft))}
    old = {s.name: s for s in current.slas}
    new = {s.name: s for s in draft.slas}
    slas = {}
    for name in sorted({*old, *new}):
        if old.get(name) != new.get(name):
            sla, wf = (new[name], draft) if name in new else (old[name], current)
            running = [s for s in wf.states if s not in sla.stop]
            slas[name] = _in_states(session, current.entity_type, running)
    if slas:
        out["slas"] = slas
    return out


def _sweep_key(wf: Workflow) -> tuple[Any, ...]:
    if wf.sweep is None:
        return ()
    return (sorted(wf.sweep.from_states), wf.sweep.inactive_state, wf.sweep.reactivate_to)


def _swept(wf: Workflow) -> Sequence[str]:
    return wf.sweep.from_states if wf.sweep else ()


def _in_states(session: Session, entity_type: str, states: Sequence[str]) -> int:
    if not states:
        return 0
    return session.scalar(select(func.count()).select_from(Entity).where(
        Entity.type == entity_type, Entity.status.in_(list(states)))) or 0


def relatives(workflows: dict[str, Workflow], draft: Workflow) -> tuple[list[str], list[str]]:
    """What other workflows say about the draft's type that it no longer allows: (problems,
    warnings). A cascade moving its entities to a state it lacks would write a status the
    workflow does not have (a problem); one reading a state it lacks, a derived status
    counting one, or a rule looking at one merely stop matching (a warning)."""
    problems, warnings = [], []
    gone = lambda states: [s for s in states if s not in draft.states]
    for name, wf in sorted(workflows.items()):
        if name == draft.entity_type:
            continue
        for c in (c for c in wf.cascades if c.path and c.path[-1] == draft.entity_type):
            if c.to not in draft.states:
                problems.append(f"The {wf.label.lower()} cascade on {c.on_enter!r} moves "
                                f"{draft.label.lower()} entities to {c.to!r}, which the new "
                                f"workflow does not have: change that cascade first.")
            if missing := gone(c.from_states):
                warnings.append(f"The {wf.label.lower()} cascade on {c.on_enter!r} reads "
                                f"{', '.join(missing)}, which the new workflow does not have; "
                                f"it will match nothing there.")
        for d in (d for d in wf.derived if d.child_type == draft.entity_type):
            if missing := gone((*d.count_states, *d.trigger_states)):
                warnings.append(f"The {wf.label.lower()} derived status counts "
                                f"{', '.join(missing)}, which the new workflow does not have.")
        for t in wf.transitions:
            for r in t.rules:
                path = r.params.get("path") or []
                if path and path[-1] == draft.entity_type and (
                        missing := gone(r.params.get("states") or [])):
                    warnings.append(f"A rule on the {wf.label.lower()} transition {t.name!r} "
                                    f"looks for {', '.join(missing)}, which the new workflow "
                                    f"does not have.")
    return problems, warnings

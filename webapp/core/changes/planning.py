"""Deciding whether moves are allowed: batched checks of workflow, roles, comments and rules."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, InvalidTransition, PermissionDenied, RuleViolation
from webapp.core.base.words import label
from webapp.core.changes.writer import Change
from webapp.core.workflows.definition import Transition, Workflow
from webapp.core.workflows.rules import RuleContext, evaluate
from webapp.models import Entity

#: A registered validator: (entity, target status, context) -> a refusal sentence or None.
Validator = Callable[[Entity, str, RuleContext], str | None]


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    #: entity id -> (kind, sentences); kind is "invalid_transition", "forbidden" or "rule_violation"
    failures: dict[int, tuple[str, list[str]]] = field(default_factory=dict)

    def raise_first(self) -> None:
        """For a single change: turn its failure into the contract's error."""
        for kind, messages in self.failures.values():
            text = " ".join(messages)
            if kind == "forbidden":
                raise PermissionDenied(text)
            if kind == "rule_violation":
                raise RuleViolation(text, messages)
            raise InvalidTransition(text, messages)


def resolve_state(wf: Workflow, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("Say which state to move to.", {"to": "A state name is required."})
    state = wf.state(name.strip())
    if state is None:
        raise InvalidInput(
            f"{wf.label} has no state {name!r}.",
            {"to": f"Choose one of: {', '.join(wf.states)}."})
    return state.name


def plan_moves(wf: Workflow, entities: Sequence[Entity], target: str, actor: Actor,
               ctx: RuleContext, source: str, validators: Sequence[Validator] = (),
               enforce_roles: bool = True) -> Plan:
    """Check every entity's move to ``target``; rules are evaluated once for the whole batch."""
    plan = Plan()
    by_move: dict[str, tuple[Transition, list[Entity]]] = {}
    ways: dict[str, _Way] = {}  # the workflow's answer depends on the status alone
    for e in entities:
        way = ways.get(e.status) or ways.setdefault(e.status, _way(wf, e.status, target))
        move, problem = _find_move(wf, e, target, actor, enforce_roles, way)
        if problem:
            plan.failures[e.id] = problem
        elif move is not None:
            by_move.setdefault(move.name, (move, []))[1].append(e)
    for move, group in by_move.values():
        _check_rules(plan, wf, move, group, target, ctx, source, validators)
    return plan


@dataclass(frozen=True)
class _Way:
    terminal: bool
    move: Transition | None
    allowed: str


def _way(wf: Workflow, status: str, target: str) -> _Way:
    current = wf.states.get(status)
    allowed = ", ".join(t.target for t in wf.transitions_from(status)) or "nothing"
    return _Way(bool(current and current.terminal), wf.find(status, target), allowed)


def _find_move(wf: Workflow, e: Entity, target: str, actor: Actor, enforce_roles: bool,
               way: _Way) -> tuple[Transition | None, tuple[str, list[str]] | None]:
    if e.status == target:
        return None, ("invalid_transition", [f"{_label(e)} is already {target}."])
    if way.terminal:
        return None, ("invalid_transition",
                      [f"{_label(e)} is {e.status}, a final state; it cannot change any more."])
    move = way.move
    if move is None:
        return None, ("invalid_transition",
                      [(f"{_label(e)} cannot go from {e.status} to {target}; from {e.status} it "
                       f"can go to: {way.allowed}.")])
    if enforce_roles and move.roles and actor.role not in move.roles:
        return None, ("forbidden", [(f"Only {', '.join(move.roles)} may {move.name} a "
                                    f"{wf.label.lower()}; you are {actor.role}.")])
    return move, None


def _check_rules(plan: Plan, wf: Workflow, move: Transition, group: list[Entity], target: str,
                 ctx: RuleContext, source: str, validators: Sequence[Validator]) -> None:
    ctx = RuleContext(ctx.session, ctx.now, ctx.settings, move.name, target, ctx.comment,
                      wf.fields)
    failures = evaluate(ctx, move.rules, group)
    for e in group:
        messages = list(failures.get(e.id, []))
        if move.comment_required and not (ctx.comment or "").strip():
            messages.insert(0, f"A comment is required to {label(move.name)}.")
        messages += [m for v in validators if (m := v(e, target, ctx))]
        if messages:
            plan.failures[e.id] = ("rule_violation", messages)
        else:
            plan.changes.append(Change(e, target, move.name, source, ctx.comment))


def _label(e: Entity) -> str:
    return f"{label(e.type).capitalize()} {e.name!r}"

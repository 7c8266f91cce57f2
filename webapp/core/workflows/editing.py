"""Editing workflows from the browser: document edits, checks before saving, dry checks of a
rule against current entities, the audited save, and importing a workflow file.

Edits are pure functions on the declarative document (``workflow.to_document``); nothing is
stored until ``save``, which refuses a document with problems and a stale version.
"""
from __future__ import annotations

import copy
import heapq
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import label
from webapp.core.fields import impact as field_impact
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows import packs, registry, schema
from webapp.core.workflows.definition import WILDCARD, Cascade, RuleSpec, Transition, Workflow
from webapp.core.workflows.loops import follow_up_loops
from webapp.core.workflows.rules import RuleContext, evaluate, validate_params
from webapp.models import Entity, WorkflowDefinition

#: The dry check looks at no more than this many entities (the lowest ids first), so it
#: answers in about a second even when a state holds a million entities.
DRY_CHECK_CAP = 5000
_BATCH = 500
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
Document = dict[str, Any]


class WorkflowInvalid(InvalidInput):
    """The document has problems; ``problems`` lists them as sentences. Nothing was saved."""

    def __init__(self, subject: str, problems: list[str]) -> None:
        super().__init__(f"{subject} has {len(problems)} problem{'s' if len(problems) != 1 else ''}"
                         "; nothing was saved.", {"definition": " ".join(problems)})
        self.problems = problems


# ------------------------------------------------------------------------- document edits

def rule_document(spec: RuleSpec) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": spec.kind, "params": dict(spec.params)}
    if spec.message:
        doc["message"] = spec.message
    return doc


def add_rule(doc: Document, transition: str, spec: RuleSpec) -> Document:
    """A copy of ``doc`` with ``spec`` appended to the transition's rules."""
    new = copy.deepcopy(doc)
    _transition(new, transition).setdefault("rules", []).append(rule_document(spec))
    return new


def replace_rule(doc: Document, transition: str, index: int, spec: RuleSpec) -> Document:
    new = copy.deepcopy(doc)
    _rules(new, transition, index)[index] = rule_document(spec)
    return new


def remove_rule(doc: Document, transition: str, index: int) -> Document:
    new = copy.deepcopy(doc)
    del _rules(new, transition, index)[index]
    return new


def set_transition_options(doc: Document, transition: str, roles: Sequence[str],
                           comment_required: bool) -> Document:
    """Who may take a transition (no roles: anyone allowed to operate) and whether it needs a
    comment."""
    new = copy.deepcopy(doc)
    t = _transition(new, transition)
    t.pop("roles", None)
    t.pop("comment_required", None)
    if roles:
        t["roles"] = list(roles)
    if comment_required:
        t["comment_required"] = True
    return new


def add_cascade(doc: Document, cascade: Cascade) -> Document:
    new = copy.deepcopy(doc)
    new.setdefault("cascades", []).append(
        {"on_enter": cascade.on_enter, "path": list(cascade.path),
         "from": list(cascade.from_states), "to": cascade.to})
    return new


def remove_cascade(doc: Document, index: int) -> Document:
    new = copy.deepcopy(doc)
    cascades = new.get("cascades", [])
    if not 0 <= index < len(cascades):
        raise NotFound(f"There is no cascade number {index + 1}; the page may be out of date.")
    del cascades[index]
    return new


def _transition(doc: Document, name: str) -> dict[str, Any]:
    for t in doc.get("transitions", []):
        if t["name"] == name:
            return t
    raise NotFound(f"{doc.get('label', 'This workflow')} has no transition {name!r}.")


def _rules(doc: Document, transition: str, index: int) -> list[dict[str, Any]]:
    rules = _transition(doc, transition).get("rules", [])
    if not 0 <= index < len(rules):
        raise NotFound(f"Transition {transition!r} has no rule number {index + 1}; "
                       "the page may be out of date.")
    return rules


# ---------------------------------------------------------------------------------- checks

def relative_paths(workflows: Mapping[str, Workflow], entity_type: str,
                   depth: int = 3) -> list[tuple[str, ...]]:
    """Every chain of child types below ``entity_type`` (``("community", "property")``)."""
    children: dict[str, list[str]] = {}
    for name, wf in sorted(workflows.items()):
        if wf.parent_type:
            children.setdefault(wf.parent_type, []).append(name)
    paths: list[tuple[str, ...]] = []
    todo: list[tuple[str, ...]] = [(c,) for c in children.get(entity_type, [])]
    while todo:
        path = todo.pop(0)
        paths.append(path)
        if len(path) < depth:
            todo += [(*path, c) for c in children.get(path[-1], []) if c not in path]
    return paths


def path_problem(workflows: Mapping[str, Workflow], entity_type: str,
                 path: Sequence[str]) -> str | None:
    """Why ``path`` does not lead from ``entity_type`` to its relatives, or None."""
    parent = entity_type
    for step in path:
        wf = workflows.get(step)
        if wf is None:
            return f"{step!r} is not a known entity type"
        if wf.parent_type != parent:
            return f"a {label(step)} is not a child of a {label(parent)}"
        parent = step
    return None if path else "name at least one type"


def rule_problems(spec: RuleSpec, entity_type: str,
                  workflows: Mapping[str, Workflow]) -> dict[str, str]:
    """The rule's parameter errors, keyed by parameter: its kind's own checks, then whether
    the types and states it names exist."""
    errors = validate_params(spec)
    if errors or spec.kind != "no_related_in_states":
        return errors
    path = spec.params["path"]
    if problem := path_problem(workflows, entity_type, path):
        return {"path": problem}
    unknown = [s for s in spec.params["states"] if s not in workflows[path[-1]].states]
    if unknown:
        return {"states": f"{label(path[-1])} has no state {', '.join(unknown)}"}
    return {}


def cascade_problems(cascade: Cascade, wf: Workflow,
                     workflows: Mapping[str, Workflow]) -> dict[str, str]:
    """A cascade's errors keyed by field: on_enter, path, from_states, to."""
    errors = {}
    if cascade.on_enter not in wf.states:
        errors["on_enter"] = f"{wf.label} has no state {cascade.on_enter!r}"
    if problem := path_problem(workflows, wf.entity_type, cascade.path):
        errors["path"] = problem
        return errors
    target = workflows[cascade.path[-1]]
    unknown = [s for s in cascade.from_states if s not in target.states]
    if unknown or not cascade.from_states:
        errors["from_states"] = (f"{target.label} has no state {', '.join(unknown)}" if unknown
                                 else "name at least one state")
    if cascade.to not in target.states:
        errors["to"] = f"{target.label} has no state {cascade.to!r}"
    return errors


def problems(doc: Any, entity_type: str, workflows: Mapping[str, Workflow], *,
             loops: bool = True) -> list[str]:
    """Everything that makes ``doc`` unsafe to save as ``entity_type``'s workflow, given the
    other workflows in force: the registry's static checks, the relatives that rules and
    cascades name, and (unless ``loops`` is False) the cascade loops it would close."""
    try:
        wf = wfmod.parse(entity_type, doc)
    except InvalidInput as err:
        return [err.message]
    others = {**workflows, entity_type: wf}
    found = registry.problems(wf, set(others))
    if found:
        return found
    for t in wf.transitions:
        for r in t.rules:
            found += [f"Rule {r.kind!r} on {t.name!r}: {k} {m}."
                      for k, m in rule_problems(r, entity_type, others).items()]
    for c in wf.cascades:
        found += [f"Cascade on {c.on_enter!r}: {label(k)} {m}."
                  for k, m in cascade_problems(c, wf, others).items()]
    if loops and not found:
        found += follow_up_loops(others, through={entity_type})
    return found


# ------------------------------------------------------------------------------ dry check

@dataclass
class DryCheck:
    """How many current entities in a transition's source states a rule would refuse."""

    transition: str
    sources: tuple[str, ...]
    scanned: int
    blocked: int
    #: True when more entities than DRY_CHECK_CAP were waiting: only the first were checked.
    capped: bool
    examples: list[str] = field(default_factory=list)


def source_states(wf: Workflow, move: Transition) -> tuple[str, ...]:
    """The states a transition leaves from; a wildcard means every non-terminal state."""
    if WILDCARD in move.sources:
        return tuple(s.name for s in wf.states.values() if not s.terminal and s.name != move.target)
    return move.sources


def dry_check(session: Session, wf: Workflow, transition: str, spec: RuleSpec,
              settings: dict[str, Any], now: datetime, cap: int = DRY_CHECK_CAP) -> DryCheck:
    """Evaluate ``spec`` (not saved) over the entities that could take ``transition`` now,
    in batches; at most ``cap`` of them, lowest ids first."""
    move = wf.by_name(transition)
    if move is None:
        raise NotFound(f"{wf.label} has no transition {transition!r}.")
    sources = source_states(wf, move)
    ids = first_ids(session, wf.entity_type, sources, cap + 1)
    ctx = RuleContext(session, now, settings, move.name, move.target, fields=wf.fields)
    result = DryCheck(move.name, sources, min(len(ids), cap), 0, len(ids) > cap)
    for chunk in chunked(ids[:cap], _BATCH):
        batch = session.scalars(select(Entity).where(Entity.id.in_(chunk))).all()
        failures = evaluate(ctx, [spec], batch)
        result.blocked += len(failures)
        result.examples += [msgs[0] for msgs in failures.values()][:3 - len(result.examples)]
    return result


def first_ids(session: Session, entity_type: str, states: Sequence[str], limit: int) -> list[int]:
    # One ordered range scan of (type, status, id) per state, merged: never a sort of
    # every entity in those states.
    per_state = [session.scalars(
        select(Entity.id).where(Entity.type == entity_type, Entity.status == s)
        .order_by(Entity.id).limit(limit)).all() for s in states]
    return list(heapq.merge(*per_state))[:limit]


# ----------------------------------------------------------------------------------- save

def definition_row(session: Session, entity_type: str) -> WorkflowDefinition:
    row = session.scalar(select(WorkflowDefinition)
                         .where(WorkflowDefinition.entity_type == entity_type))
    if row is None:
        raise NotFound(f"No workflow for entity type {entity_type!r}.")
    return row


def save(session: Session, reg: registry.WorkflowRegistry, entity_type: str, doc: Document,
         actor: Actor, now: datetime, expected_version: int, message: str) -> int:
    """Store an edited workflow if it has no problems and nobody saved since
    ``expected_version``; audit it with a diff; returns the new version."""
    with write_transaction(session):
        found = problems(doc, entity_type, reg.all(session))
        if found:
            raise WorkflowInvalid(f"The workflow for {entity_type!r}", found)
        row, before = registry.save(session, entity_type, doc, reg.pack_of(session, entity_type),
                                    actor.name, now, set(reg.all(session)), expected_version,
                                    comment=message)
        audit.write(session, [audit.AuditRecord(
            actor, "workflow.update", "workflow", entity_type, before=flatten(before),
            after=flatten(row.definition), message=message)], now)
        version = row.version
    reg.invalidate()
    return version


def flatten(doc: Document | None) -> dict[str, Any]:
    """One key per state and per transition, so an audit diff names just what changed."""
    if not doc:
        return {}
    out = {k: v for k, v in doc.items() if k not in ("states", "transitions")}
    out.update({f"state {name}": s for name, s in doc.get("states", {}).items()})
    out.update({f"transition {t['name']}": t for t in doc.get("transitions", [])})
    return out


# --------------------------------------------------------------------------------- import

def read_file(raw: bytes) -> Document:
    """A workflow file's JSON, or WorkflowInvalid saying why it cannot be read."""
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _unreadable("It is not UTF-8 text; export a workflow to see the format.") from None
    except json.JSONDecodeError as err:
        raise _unreadable(f"It is not valid JSON: {err.msg} at line {err.lineno}, "
                          f"column {err.colno}.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("types"), dict) or not doc["types"]:
        raise _unreadable('It needs a non-empty "types" object: '
                          '{"pack": ..., "types": {"TYPE": {...}}}.')
    return doc


def _unreadable(reason: str) -> WorkflowInvalid:
    return WorkflowInvalid("The file", [reason])


def import_problems(doc: Document, workflows: Mapping[str, Workflow]) -> list[str]:
    """Every problem of every type in the file, each sentence naming its type."""
    found: list[str] = []
    parsed: dict[str, Workflow] = {}
    for name, definition in doc["types"].items():
        if not _TYPE_NAME.match(str(name)):
            found.append(f"{name}: a type name is lower-case letters, digits and _ (at most 50).")
        elif not isinstance(definition, dict):
            found.append(f"{name}: the definition must be an object.")
        else:
            try:
                parsed[name] = wfmod.parse(name, definition)
            except InvalidInput as err:
                found.append(f"{name}: {err.message}")
    others = {**workflows, **parsed}
    for name in parsed:
        found += [f"{name}: {p}" for p in problems(doc["types"][name], name, others, loops=False)]
    if not found:  # a loop may run through several of the file's types: said once
        found += follow_up_loops(others, through=set(parsed))
    return found


def import_file(session: Session, reg: registry.WorkflowRegistry, raw: bytes, actor: Actor,
                now: datetime) -> list[str]:
    """Check a whole workflow file, then store every type in it in one transaction (or none)."""
    doc = read_file(raw)
    with write_transaction(session):
        found = import_problems(doc, reg.all(session))
        if found:
            raise WorkflowInvalid("The file", found)
        return packs.import_document(session, reg, doc, actor, now)


def import_impact(session: Session, workflows: Mapping[str, Workflow], raw: bytes,
                  limit: int = field_impact.EXACT_LIMIT, chunk: int = 2000
                  ) -> list[field_impact.Impact]:
    """Check a workflow file as ``import_file`` does (raising the same errors), then report
    for each type whose declared fields it changes how many stored entities the new fields
    would refuse. Reads only: entities are read in chunks by id, at most ``limit`` per type."""
    doc = read_file(raw)
    found = import_problems(doc, workflows)
    if found:
        raise WorkflowInvalid("The file", found)
    schema.check_file(doc)

    def stored(entity_type: str) -> Iterator[tuple[int, Any]]:
        last = 0
        while True:
            rows = session.execute(
                select(Entity.id, Entity.data).where(Entity.type == entity_type, Entity.id > last)
                .order_by(Entity.id).limit(chunk)).all()
            yield from ((r.id, r.data) for r in rows)
            if len(rows) < chunk:
                return
            last = rows[-1].id

    reports = []
    for name, definition in doc["types"].items():
        old = workflows[name].fields if name in workflows else {}
        new = wfmod.parse(name, definition).fields
        if field_impact.needs_check(old, new):
            reports.append(field_impact.impact(name, old, new, stored(name), limit=limit))
    return [r for r in reports if r.violating]

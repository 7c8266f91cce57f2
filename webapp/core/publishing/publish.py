"""Publishing a workflow definition (CONTRACT §10): a draft, or an earlier version (rollback).

One transaction: the definition is checked (400 with its problems), every entity in a state
it removes must be mapped to one of its states (422 naming the states and counts otherwise),
the definition is saved as the next version through ``registry.save`` (the one save path:
versions, per-field indexes), then the mapped entities move through ``StateManager.move``
(set-based when nothing follows such a move, else row by row with its cascades: entities,
history source ``migration``, outbox, counts) under one correlation id, with one audit record and a ``BulkOperation`` row, so the existing
bulk undo puts them back as one operation. Any failure rolls all of it back.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import ConcurrencyConflict, InvalidInput, RuleViolation
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import plural
from webapp.core.bulk.records import record, write_audit
from webapp.core.bulk.request import BulkRequest, BulkResult
from webapp.core.changes.manager import StateManager
from webapp.core.publishing import drafts, impact, versions
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows import editing, registry
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity

CHUNK = 2000
#: Called after each chunk with (entities moved so far, entities to move).
Progress = Callable[[int, int], None]


class StrandedEntities(RuleViolation):
    """Entities would be left in states the definition does not have (nothing was written)."""

    def __init__(self, unmapped: Mapping[str, int], entity_type: str, states: list[str]) -> None:
        messages = [f"{plural(n, entity_type)} {'is' if n == 1 else 'are'} in {state!r}, which "
                    f"the new workflow does not have: map {state!r} to one of its states "
                    f"({', '.join(states)})." for state, n in unmapped.items()]
        super().__init__("Entities would be left in removed states; map each of those states "
                         "to a state of the new workflow. Nothing was published.", messages)
        self.extra["stranded"] = dict(unmapped)


@dataclass
class Published:
    entity_type: str
    version: int
    mapping: dict[str, str]
    moved: dict[str, int] = field(default_factory=dict)
    correlation_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"entity_type": self.entity_type, "version": self.version,
                "state_mapping": self.mapping, "moved": self.moved,
                "moved_total": sum(self.moved.values()), "correlation_id": self.correlation_id}


def check_mapping(sent: Any, current: Workflow, draft: Workflow) -> dict[str, str]:
    """``{removed state: state of the draft}``; 400 naming each bad entry."""
    if sent is None:
        return {}
    if not isinstance(sent, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in sent.items()):
        raise InvalidInput("state_mapping must be an object {old state: new state}.",
                           {"state_mapping": 'Send e.g. {"reserved": "pending"}.'})
    errors = {}
    for old, new in sent.items():
        if old in draft.states:
            errors[f"state_mapping.{old}"] = (f"{old!r} is a state of the new workflow; only "
                                              f"states it removes are mapped.")
        elif new not in draft.states:
            errors[f"state_mapping.{old}"] = (f"The new workflow has no state {new!r}; its "
                                              f"states are {', '.join(draft.states)}.")
    if errors:
        raise InvalidInput("The state mapping names states it cannot use.", errors)
    return dict(sent)


def comment_of(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidInput("comment must be text of at most 2,000 characters.",
                           {"comment": "Say why, in at most 2,000 characters."})
    return value.strip()


def publish(session: Session, sm: StateManager, actor: Actor, entity_type: str, doc: Any,
            mapping: Any, comment: Any, *, rollback_of: int | None = None,
            progress: Progress | None = None, now: datetime | None = None,
            correlation_id: str | None = None, discard_draft: bool = False) -> Published:
    """Check ``doc``, save it as the type's next version and move its stranded entities as
    ``mapping`` says, all or nothing. ``rollback_of`` names the version republished."""
    now, cid = now or sm.clock(), correlation_id or str(uuid.uuid4())
    note, reg = comment_of(comment), sm.workflows
    with write_transaction(session):
        row = versions.in_force(session, entity_type)
        definition, moving = prepare(session, reg, entity_type, doc, mapping)
        said = note or (f"Rollback to version {rollback_of}." if rollback_of else "Published.")
        saved, before = registry.save(session, entity_type, definition, row.pack, actor.name, now,
                                      set(reg.all(session)), comment=said,
                                      correlation_id=cid if moving else None)
        result = migrate(session, sm, actor, entity_type, moving, cid, now,
                         f"Workflow version {saved.version}: {said}", progress)
        audit.write(session, [audit.AuditRecord(
            actor, "workflow.publish", "workflow", entity_type, before=editing.flatten(before),
            after=editing.flatten(saved.definition), message=said,
            correlation_id=cid if moving else None,
            extra={"version": saved.version, "state_mapping": moving,
                   "moved": result.successful_items, "rollback_of": rollback_of})], now)
        published = Published(entity_type, saved.version, moving, _moved(result),
                              cid if moving else None)
        if discard_draft and (kept := drafts.find(session, entity_type)) is not None:
            session.delete(kept)
    reg.invalidate()
    return published


def prepare(session: Session, reg: registry.WorkflowRegistry, entity_type: str, doc: Any,
            mapping: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Every check of publishing, writing nothing: the normalised definition and
    ``{stranded state: new state}`` (400 or 422 as ``publish`` would answer)."""
    current, definition = reg.get(session, entity_type), drafts.definition_of(entity_type, doc)
    draft = wfmod.parse(entity_type, definition)
    found = [*editing.problems(definition, entity_type, reg.all(session)),
             *impact.relatives(reg.all(session), draft)[0]]
    if found:
        raise editing.WorkflowInvalid(f"The workflow for {entity_type!r}", found)
    wanted = check_mapping(mapping, current, draft)
    stranded = impact.stranded(session, entity_type, draft, also=list(current.states))
    unmapped = {s: n for s, n in stranded.items() if s not in wanted}
    if unmapped:
        raise StrandedEntities(unmapped, entity_type, list(draft.states))
    return definition, {s: wanted[s] for s in stranded}


def to_move(session: Session, entity_type: str, moving: Mapping[str, str]) -> int:
    """How many entities publishing with ``moving`` would move."""
    return sum(session.scalar(select(func.count()).select_from(Entity).where(
        Entity.type == entity_type, Entity.status == s)) or 0 for s in moving)


def rollback(session: Session, sm: StateManager, actor: Actor, entity_type: str, number: Any,
             mapping: Any, comment: Any, **kw: Any) -> Published:
    """Publish an earlier version's definition again, through the same checks."""
    old = versions.get(session, entity_type, number)
    return publish(session, sm, actor, entity_type, old.definition, mapping, comment,
                   rollback_of=old.version, **kw)


def migrate(session: Session, sm: StateManager, actor: Actor, entity_type: str,
            moving: Mapping[str, str], cid: str, now: datetime, reason: str,
            progress: Progress | None = None) -> BulkResult:
    """Move every entity of the type in each mapped state to its new state (inside the
    caller's transaction), chunk by chunk in id order; one audit record for all of them."""
    ids = {s: list(session.scalars(select(Entity.id).where(
        Entity.type == entity_type, Entity.status == s).order_by(Entity.id))) for s in moving}
    total = sum(map(len, ids.values()))
    result = BulkResult("migration", False, audit_correlation_id=cid, total_items=total)
    for old, part in ((old, part) for old, all_ids in ids.items() for part in chunked(all_ids, CHUNK)):
        # Like the sweep: no in-process payloads for a mass move (the outbox carries every
        # change to the subscribers all the same).
        moved, cascaded = sm.move(session, part, entity_type, old, moving[old], actor, now, cid,
                                  action="migrate", source="migration", reason=reason,
                                  event_type="workflow.migrate")
        if len(moved) != len(part):
            raise ConcurrencyConflict("Entities changed while the workflow was published; "
                                      "nothing was published. Try again.", None, 0)
        result.successful_ids += moved
        result.written += [(i, old, moving[old]) for i in moved]
        result.cascaded += cascaded
        if progress:
            progress(len(result.successful_ids), total)
    if total:
        req = BulkRequest("migration", tuple(result.successful_ids), comment=reason)
        write_audit(session, actor, req, result, cid, now)
        record(session, actor, req, result, now)
    return result


def _moved(result: BulkResult) -> dict[str, int]:
    out: dict[str, int] = {}
    for _id, old, _new in result.written:
        out[old or ""] = out.get(old or "", 0) + 1
    return out

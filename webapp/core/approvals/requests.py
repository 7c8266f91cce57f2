"""Asking for approval: a transition whose workflow names approval roles records a pending
request and changes nothing (CONTRACT §9), with what would happen if it were approved now.

The preview is computed by the code that will apply it: the move and its cascades are
written inside a savepoint and rolled back, so the approver sees the relatives that would
change, not a guess. A bulk run stores its dry-run result (per-item reasons).
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.approvals import records
from webapp.core.approvals.records import ApprovalPending
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, InvalidTransition, storable_id
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import label, plural
from webapp.core.bulk import operations as bulk
from webapp.core.bulk import plans as bulk_plans
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes import writer as changes
from webapp.core.changes.manager import Outcome, StateManager, check_version
from webapp.core.changes.planning import resolve_state
from webapp.core.changes.writer import Change
from webapp.core.workflows.definition import Workflow
from webapp.models import Approval, Entity, StatusChange

#: Relatives a preview lists (the total counts the rest).
PREVIEW_ROWS = 200


def approval_roles(wf: Workflow, status: str, target: str) -> tuple[str, ...]:
    """The roles that must approve the move from ``status`` to ``target`` (none: no approval)."""
    move = wf.find(status, target)
    return move.approval_roles if move else ()


def transition_or_ask(sm: StateManager, session: Session, actor: Actor, entity_id: int, to: Any,
                      *, reason: str | None, version: int | None, source: str,
                      correlation_id: str | None = None) -> Outcome | Approval:
    """The transition when it needs no approval; otherwise a pending request (nothing moves)."""
    entity = sm.get(session, entity_id)
    wf = sm.workflow(session, entity.type)
    target = resolve_state(wf, to)
    if not approval_roles(wf, entity.status, target):
        return sm.transition(session, actor, entity_id, target, reason=reason, version=version,
                             source=source, correlation_id=correlation_id)
    return ask(sm, session, actor, entity_id, target, reason=reason, version=version, source=source)


def ask(sm: StateManager, session: Session, actor: Actor, entity_id: int, to: Any, *,
        reason: str | None = None, version: int | None = None, source: str = "api") -> Approval:
    """Record a request to move one entity; refused as the move itself would be (404, 409,
    422, 403) and with 409 ``approval_pending`` while another request for it waits."""
    now = sm.clock()
    with write_transaction(session):
        entity = changes.lock_entity(session, entity_id)
        check_version(entity, version)
        wf = sm.workflow(session, entity.type)
        target = resolve_state(wf, to)
        roles = approval_roles(wf, entity.status, target)
        plan = sm.plan(session, wf, [entity], target, actor, reason, source, now)
        plan.raise_first()
        if not roles:
            raise InvalidInput(f"Moving to {target} needs no approval.",
                               {"to": "Make the move itself."})
        refuse_second(session, [entity_id])
        action, from_status, name = plan.changes[0].action, entity.status, entity.name
        preview = cascade_preview(session, sm, plan.changes, actor, now)
        approval = Approval(
            kind="entity", entity_id=entity_id, entity_type=wf.entity_type, to_status=target,
            from_status=from_status, action=action, reason=reason, requested_by=actor.name,
            requester_role=actor.role, roles=list(roles), status="pending", created_at=now,
            expires_at=expires(sm, session, now), preview=preview,
            params={"source": source}, ids=[], outcome={})
        session.add(approval)
        session.flush()
        records.record(session, actor, [(approval, name)], records.APPROVAL_REQUESTED, now)
    return approval


def expires(sm: StateManager, session: Session, now: datetime) -> datetime:
    return now + timedelta(hours=sm.settings.get(session, records.EXPIRY_SETTING))


def refuse_second(session: Session, ids: Sequence[int]) -> None:
    """409 when any of these entities has a pending request (its own or a bulk run's)."""
    found = pending_by_entity(session, ids)
    if found:
        eid, a = next(iter(found.items()))
        raise ApprovalPending(
            f"Entity {eid} already has a request waiting (#{a.id}, to {a.to_status}, "
            f"{records.awaiting(a)}); decide it first.", approval_id=a.id, entity_id=eid)


def pending_by_entity(session: Session, ids: Sequence[int]) -> dict[int, Approval]:
    """The pending request of each of these entities that has one."""
    wanted = {i for i in ids if storable_id(i)}
    found: dict[int, Approval] = {}
    for chunk in chunked(sorted(wanted)):
        for a in session.scalars(select(Approval).where(
                Approval.status == "pending", Approval.kind == "entity",
                Approval.entity_id.in_(chunk))):
            found.setdefault(a.entity_id, a)
    # Bulk requests wait for a short while in small numbers: their ids are read in Python
    # (a JSON containment test is written differently on each database).
    for a in session.scalars(select(Approval).where(Approval.status == "pending",
                                                    Approval.kind == "bulk")):
        for eid in wanted.intersection(a.ids or []):
            found.setdefault(eid, a)
    return found


def pending_for(session: Session, entity_id: int) -> Approval | None:
    """The request waiting for this entity, if any (what its page and JSON show)."""
    return pending_by_entity(session, [entity_id]).get(entity_id)


# ----------------------------------------------------------------------- previews

def cascade_preview(session: Session, sm: StateManager, planned: Sequence[Change], actor: Actor,
                    now: datetime) -> dict[str, Any]:
    """What applying ``planned`` would change besides the entities themselves, by writing it
    in a savepoint that is rolled back (inside the caller's write transaction)."""
    cid = str(uuid.uuid4())
    savepoint = session.begin_nested()
    try:
        sm.apply(session, list(planned), actor, now, cid, "approval.preview", audit_each=False,
                 events=False)
        rows = session.execute(
            select(StatusChange.entity_id, Entity.type, Entity.name, StatusChange.old_status,
                   StatusChange.new_status)
            .join(Entity, Entity.id == StatusChange.entity_id)
            .where(StatusChange.correlation_id == cid, StatusChange.source == "cascade")
            .order_by(StatusChange.id)).all()
    finally:
        savepoint.rollback()
        session.expire_all()  # the writer updated the rows in memory too
    items = [{"id": r[0], "type": r[1], "name": r[2], "old_status": r[3], "new_status": r[4]}
             for r in rows]
    return {"cascade": items[:PREVIEW_ROWS], "cascade_total": len(items),
            "summary": _summary(items)}


def _summary(items: list[dict[str, Any]]) -> str:
    if not items:
        return "Nothing else changes with it."
    counts: dict[tuple[str, str], int] = {}
    for item in items:
        key = (item["type"], item["new_status"])
        counts[key] = counts.get(key, 0) + 1
    parts = [f"{plural(n, t)} {'goes' if n == 1 else 'go'} {label(s)}"
             for (t, s), n in sorted(counts.items())]
    return f"{plural(len(items), 'related entity')} change with it: {', '.join(parts)}."


# --------------------------------------------------------------------------- bulk

def bulk_roles(sm: StateManager, session: Session, ids: Sequence[int], target: str
               ) -> tuple[str, ...]:
    """The roles that must approve a bulk move of these entities (none: no approval)."""
    rows = changes.lock_rows(session, list(ids), lock=False)
    session.rollback()
    roles: list[str] = []
    for type_, status in {(r.type, r.status) for r in rows.values()}:
        wf = sm.workflow(session, type_)
        state = wf.state((target or "").strip())
        for role in approval_roles(wf, status, state.name) if state else ():
            if role not in roles:
                roles.append(role)
    return tuple(sorted(roles))


def ask_bulk(sm: StateManager, session: Session, actor: Actor, req: BulkRequest) -> Approval:
    """Record one request for a bulk transition of all its items, with its dry run."""
    now = sm.clock()
    roles = bulk_roles(sm, session, req.ids, req.target_state or "")
    if not roles:
        raise InvalidInput("This bulk run needs no approval.", {"target_state": "Run it."})
    result = bulk.run(session, sm, actor, replace(req, dry_run=True), "", now)
    if not result.successful_ids:
        reasons = [f"{why} ({plural(n, 'entity')})"
                   for why, n in bulk_plans.reasons(result.failure_details)]
        raise InvalidTransition("None of these entities can make this move.", reasons)
    with write_transaction(session):
        changes.lock_rows(session, req.ids)  # one asker at a time for these entities
        refuse_second(session, req.ids)
        approval = Approval(
            kind="bulk", entity_id=None, entity_type=None, ids=list(req.ids),
            to_status=(req.target_state or "").strip(), reason=req.comment,
            requested_by=actor.name, requester_role=actor.role, roles=list(roles),
            status="pending", created_at=now, expires_at=expires(sm, session, now),
            preview=bulk.stored_result(result),
            params={"source": "bulk", "rollback_on_error": req.rollback_on_error}, outcome={})
        session.add(approval)
        session.flush()
        records.record(session, actor, [(approval, None)], records.APPROVAL_REQUESTED, now)
    return approval

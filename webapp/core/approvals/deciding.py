"""Deciding a request: approve (re-plan and apply now), reject (with a comment), expire.

Only the roles the request names decide, never its requester. A decision claims the request
with ``UPDATE approvals SET status = … WHERE id = ? AND status = 'pending'`` inside the write
transaction that applies it: of two approvers pressing at once one claims it, the other finds
it decided (409), so the change is applied once. Approving plans the move again through the
StateManager as the requester's own, with the same checks as a person (workflow, role, rules,
versions, cascades); when it is no longer allowed nothing is written and the request ends
``failed`` with the reasons.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.core.approvals import records
from webapp.core.approvals.records import ApprovalClosed, SelfApproval
from webapp.core.base.actor import Actor
from webapp.core.base.errors import (
    ConcurrencyConflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RuleViolation,
    storable_id,
)
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import either, label
from webapp.core.changes import writer as changes
from webapp.core.changes.manager import StateManager
from webapp.core.changes.writer import Change
from webapp.models import Approval, Entity

_A = Approval.__table__
COMMENT_MAX = 2000
#: Requests one expiry pass takes (the next pass takes the rest).
EXPIRE_BATCH = 500


def get(session: Session, approval_id: Any) -> Approval:
    found = session.get(Approval, approval_id) if storable_id(approval_id) else None
    if found is None:
        raise NotFound(f"No approval request with id {approval_id}.")
    return found


def may_decide(actor: Actor, a: Approval) -> bool:
    """Whether the actor's role is one the request names and they did not ask for it."""
    return actor.role in a.roles and actor.name != a.requested_by


def check_decider(actor: Actor, a: Approval) -> None:
    if actor.name == a.requested_by:
        raise SelfApproval("You asked for this change; another person must decide it.")
    if actor.role not in a.roles:
        raise PermissionDenied(f"Only {either([label(r) for r in a.roles])} may decide this "
                               f"request; you are {label(actor.role)}.")


def _comment(value: Any, required: bool) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput("comment must be text.", {"comment": "Send a string."})
    text = (value or "").strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInput("comment is too long.", {"comment": f"At most {COMMENT_MAX} characters."})
    if required and not text:
        raise InvalidInput("A comment is required to reject a request.",
                           {"comment": "Say why you reject it."})
    return text or None


def _open(session: Session, actor: Actor, approval_id: Any, now: datetime) -> Approval:
    """The request, checked to be decidable by this actor now (outside any write)."""
    session.rollback()
    a = get(session, approval_id)
    check_decider(actor, a)
    if a.status == "pending" and a.expires_at <= now:
        expire_due(session, now, only=[a.id])
        a = get(session, approval_id)
    if a.status != "pending":
        raise ApprovalClosed(f"Request #{a.id} is {a.status} already"
                             f"{' (by ' + a.decided_by + ')' if a.decided_by else ''}.",
                             approval=records.to_dict(a))
    return a


def _claim(session: Session, approval_id: int, status: str, actor: Actor, comment: str | None,
           now: datetime, **extra: Any) -> Approval:
    """Take the pending request for this decision, or 409 when someone else decided first."""
    claimed = session.execute(
        update(_A).where(_A.c.id == approval_id, _A.c.status == "pending",
                         _A.c.expires_at > now)
        .values(status=status, decided_by=actor.name, decision_comment=comment, decided_at=now,
                **extra)).rowcount
    session.expire_all()
    a = get(session, approval_id)
    if claimed != 1:
        raise ApprovalClosed(f"Request #{a.id} was {a.status} meanwhile"
                             f"{' by ' + a.decided_by if a.decided_by else ''}.",
                             approval=records.to_dict(a))
    return a


def reject(sm: StateManager, session: Session, actor: Actor, approval_id: Any,
           comment: Any) -> Approval:
    """Refuse the request, saying why (the comment is required); nothing changes."""
    now, text = sm.clock(), _comment(comment, required=True)
    _open(session, actor, approval_id, now)
    with write_transaction(session):
        a = _claim(session, approval_id, "rejected", actor, text, now)
        records.record(session, actor, [(a, _name(session, a))], records.APPROVAL_REJECTED, now)
    return a


def approve(sm: StateManager, session: Session, actor: Actor, approval_id: Any,
            comment: Any = None) -> Approval:
    """Apply the request now as the requester's move (history source ``approval``, metadata
    naming both people); 422 and status ``failed`` when it is no longer allowed."""
    now, text = sm.clock(), _comment(comment, required=False)
    _open(session, actor, approval_id, now)
    cid = str(uuid.uuid4())
    try:
        with write_transaction(session):
            a = _claim(session, approval_id, "approved", actor, text, now)
            applied = _apply(sm, session, actor, a, now, cid)
            a.outcome = applied
            records.record(session, actor, [(a, _name(session, a))], records.APPROVAL_APPROVED,
                           now, extra={"correlation_id": cid, **applied})
    except (InvalidTransition, ConcurrencyConflict, PermissionDenied) as err:
        reasons = _reasons(err)
        failed = _fail(sm, session, actor, approval_id, text, reasons, now)
        kind = RuleViolation if isinstance(err, RuleViolation) else InvalidTransition
        refusal = kind(f"Request #{failed.id} can no longer be applied: {' '.join(reasons)}",
                       reasons)
        refusal.extra["approval"] = records.to_dict(failed)
        raise refusal from err
    return a


def _reasons(err: Exception) -> list[str]:
    messages = getattr(err, "messages", None)
    return list(messages) if messages else [getattr(err, "message", str(err))]


def _fail(sm: StateManager, session: Session, actor: Actor, approval_id: int,
          comment: str | None, reasons: list[str], now: datetime) -> Approval:
    with write_transaction(session):
        a = _claim(session, approval_id, "failed", actor, comment, now,
                   outcome={"reasons": reasons})
        records.record(session, actor, [(a, _name(session, a))], records.APPROVAL_FAILED, now,
                       extra={"reasons": reasons})
    return a


def _apply(sm: StateManager, session: Session, actor: Actor, a: Approval, now: datetime,
           cid: str) -> dict[str, Any]:
    requester = Actor(a.requested_by, a.requester_role)
    meta = {"approval_id": a.id, "requested_by": a.requested_by, "approved_by": actor.name,
            **({"approval_comment": a.decision_comment} if a.decision_comment else {})}
    planned = _plan_entity(sm, session, requester, a, now) if a.kind == "entity" else \
        _plan_bulk(sm, session, requester, a, now)
    for c in planned:
        c.metadata = {**c.metadata, **meta}
    outcome = sm.apply(session, planned, requester, now, cid,
                       "entity.transition" if a.kind == "entity" else "bulk.transition",
                       audit_each=a.kind == "entity")
    return {"changed": [c.entity.id for c in planned][:1000],
            "cascaded": outcome.cascaded[:1000], "correlation_id": cid}


def _plan_entity(sm: StateManager, session: Session, requester: Actor, a: Approval,
                 now: datetime) -> list[Change]:
    entity = changes.lock_entities(session, [a.entity_id]).get(a.entity_id)
    if entity is None:
        raise InvalidTransition(f"Entity {a.entity_id} no longer exists.")
    if entity.status != a.from_status:
        raise InvalidTransition(
            f"{label(entity.type).capitalize()} {entity.name!r} is {entity.status} now, not "
            f"{a.from_status} as when it was asked; ask again if the move is still wanted.")
    wf = sm.workflow(session, entity.type)
    plan = sm.plan(session, wf, [entity], a.to_status, requester, a.reason, "approval", now)
    plan.raise_first()
    return plan.changes


def _plan_bulk(sm: StateManager, session: Session, requester: Actor, a: Approval,
               now: datetime) -> list[Change]:
    rows = changes.lock_rows(session, a.ids)
    failures = [f"No entity with id {i}." for i in a.ids if i not in rows]
    planned: list[Change] = []
    by_type: dict[str, list[Any]] = {}
    for i in a.ids:
        if i in rows:
            by_type.setdefault(rows[i].type, []).append(rows[i])
    for type_, group in by_type.items():
        wf = sm.workflow(session, type_)
        state = wf.state(a.to_status)
        if state is None:
            failures += [f"{wf.label} has no state {a.to_status!r}."]
            continue
        plan = sm.plan(session, wf, group, state.name, requester, a.reason, "approval", now)
        planned += plan.changes
        failures += [f"#{eid}: {' '.join(msgs)}" for eid, (_k, msgs) in plan.failures.items()]
    if failures and ((a.params or {}).get("rollback_on_error", True) or not planned):
        raise InvalidTransition(f"{len(failures)} of the entities can no longer be moved.",
                                failures[:50])
    return planned


def expire_due(session: Session, now: datetime, only: list[int] | None = None) -> int:
    """End the pending requests whose time ran out (the workers call this every minute);
    each once, whichever process gets there first."""
    with write_transaction(session):
        stmt = (select(Approval.id).where(Approval.status == "pending", Approval.expires_at <= now)
                .order_by(Approval.id).limit(EXPIRE_BATCH))
        if only is not None:
            stmt = stmt.where(Approval.id.in_(only))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        due = list(session.scalars(stmt))
        if not due:
            return 0
        session.execute(update(_A).where(_A.c.id.in_(due), _A.c.status == "pending")
                        .values(status="expired", decided_at=now))
        session.expire_all()
        expired = list(session.scalars(select(Approval).where(Approval.id.in_(due))))
        records.record(session, records.EXPIRER,
                       [(a, _name(session, a)) for a in expired], records.APPROVAL_EXPIRED, now)
    return len(expired)


def _name(session: Session, a: Approval) -> str | None:
    if a.entity_id is None:
        return None
    return session.scalar(select(Entity.name).where(Entity.id == a.entity_id))

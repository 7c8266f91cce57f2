"""What an approval request says: its JSON, its events (through the outbox), its audit rows,
and the errors of asking and deciding."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base import paging
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, PermissionDenied, StatekeeperError
from webapp.core.base.words import either, label, plural
from webapp.core.changes import writer as changes
from webapp.core.settings.store import declare
from webapp.models import Approval
from webapp.models.approval import APPROVAL_STATUSES

APPROVAL_REQUESTED = "ApprovalRequested"
APPROVAL_APPROVED = "ApprovalApproved"
APPROVAL_REJECTED = "ApprovalRejected"
APPROVAL_EXPIRED = "ApprovalExpired"
APPROVAL_FAILED = "ApprovalFailed"
EVENTS = (APPROVAL_REQUESTED, APPROVAL_APPROVED, APPROVAL_REJECTED, APPROVAL_EXPIRED,
          APPROVAL_FAILED)
EXPIRY_SETTING = "approval_expiry_hours"

declare(EXPIRY_SETTING, int, 72, "Hours a request for approval waits for a decision before it "
        "expires.", "Approvals", unit="hours", minimum=1, maximum=8760)

#: Who expires requests (the workers).
EXPIRER = Actor("approvals", "admin")


class ApprovalPending(StatekeeperError):
    """A second request for an entity that already has one waiting."""

    status = 409
    code = "approval_pending"


class ApprovalClosed(StatekeeperError):
    """The request was decided (or expired) already: nothing more to decide."""

    status = 409
    code = "approval_closed"


class SelfApproval(PermissionDenied):
    """The requester may never decide their own request."""

    code = "self_approval"


def awaiting(a: Approval) -> str:
    """``awaiting approval by admin``."""
    return f"awaiting approval by {either([label(r) for r in a.roles], 'or')}"


def subject(a: Approval, name: str | None = None) -> str:
    """``builder 'Acme Homes' to out_of_business`` / ``12 entities to off_market``."""
    if a.kind == "bulk":
        return f"{plural(len(a.ids), 'entity')} to {a.to_status}"
    return f"{label(a.entity_type)} {name or '#' + str(a.entity_id)!r} to {a.to_status}"


def to_dict(a: Approval) -> dict[str, Any]:
    """The contract's approval (CONTRACT §9), plus what the pages show."""
    out: dict[str, Any] = {"id": a.id, "kind": a.kind}
    if a.kind == "bulk":
        out["ids"] = list(a.ids)
    else:
        out |= {"entity_id": a.entity_id, "type": a.entity_type, "from": a.from_status,
                "action": a.action}
    return out | {
        "to": a.to_status, "reason": a.reason, "requested_by": a.requested_by,
        "status": a.status, "decided_by": a.decided_by, "decision_comment": a.decision_comment,
        "created_at": _iso(a.created_at), "decided_at": _iso(a.decided_at),
        "expires_at": _iso(a.expires_at), "roles": list(a.roles),
        "awaiting": awaiting(a) if a.status == "pending" else None,
        "reasons": list((a.outcome or {}).get("reasons", [])),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def sentence(event: str, a: Approval, name: str | None) -> str:
    """The notification feed's line for an approval event."""
    what = subject(a, name)
    by = f" by {a.decided_by}" if a.decided_by else ""
    said = f": {a.decision_comment}" if a.decision_comment else ""
    return {
        APPROVAL_REQUESTED: f"{a.requested_by} asks to move {what}; {awaiting(a)}.",
        APPROVAL_APPROVED: f"{a.requested_by}'s request to move {what} was approved{by}{said}.",
        APPROVAL_REJECTED: f"{a.requested_by}'s request to move {what} was rejected{by}{said}.",
        APPROVAL_EXPIRED: f"{a.requested_by}'s request to move {what} expired undecided.",
        APPROVAL_FAILED: (f"{a.requested_by}'s request to move {what} was approved{by} but "
                          f"could not be applied: {' '.join((a.outcome or {}).get('reasons', []))}"),
    }[event]


def record(session: Session, actor: Actor, items: Sequence[tuple[Approval, str | None]],
           event: str, now: datetime, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One audit row and one outbox event per request (inside the caller's transaction);
    returns the events' payloads."""
    audit_type = "approval." + {APPROVAL_REQUESTED: "request", APPROVAL_APPROVED: "approve",
                                APPROVAL_REJECTED: "reject", APPROVAL_EXPIRED: "expire",
                                APPROVAL_FAILED: "fail"}[event]
    payloads, records = [], []
    for a, name in items:
        payload = {"event": event, "approval_id": a.id, "kind": a.kind,
                   "entity_id": a.entity_id, "type": a.entity_type, "name": name,
                   "ids_count": len(a.ids or []), "from_status": a.from_status,
                   "to": a.to_status, "requested_by": a.requested_by, "status": a.status,
                   "decided_by": a.decided_by, "decision_comment": a.decision_comment,
                   "actor": actor.name, "message": sentence(event, a, name)[:500]}
        payloads.append(payload)
        records.append(audit.AuditRecord(
            actor, audit_type, "approval", str(a.id), message=a.decision_comment or a.reason,
            after={"status": a.status}, extra={
                "kind": a.kind, "entity_id": a.entity_id, "to": a.to_status,
                "requested_by": a.requested_by, "decided_by": a.decided_by,
                **({"ids": a.ids[:200]} if a.kind == "bulk" else {}), **(extra or {})}))
    audit.write(session, records, now)
    changes.insert_outbox(session, event, [(p["entity_id"], p) for p in payloads], now)
    return payloads


def check_status(value: Any) -> str | None:
    """A ``status`` filter: one of the statuses, or none (empty) for all."""
    if value in (None, ""):
        return None
    if value not in APPROVAL_STATUSES:
        raise InvalidInput(f"No approval status {value!r}.",
                           {"status": f"One of: {', '.join(APPROVAL_STATUSES)}."})
    return value


def page(session: Session, status: str | None, limit: int, cursor: str | None
         ) -> tuple[list[Approval], str | None]:
    """Requests newest first, a keyset page after ``cursor``; and the next page's cursor."""
    stmt = select(Approval).order_by(Approval.id.desc()).limit(limit + 1)
    if status:
        stmt = stmt.where(Approval.status == status)
    position = paging.decode_cursor(cursor)
    if position:
        stmt = stmt.where(Approval.id < position[1])
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, paging.encode_cursor(rows[-1].id) if more and rows else None

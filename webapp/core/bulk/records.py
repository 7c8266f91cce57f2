"""What a bulk operation leaves on record: one audit record (or one per committed part of a
background job) and, for a synchronous run, its ``BulkOperation`` row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.bulk import plans as bulk_plans
from webapp.core.bulk.request import BulkRequest, BulkResult
from webapp.models import BulkOperation, StatusChange


def write_audit(session: Session, actor: Actor, req: BulkRequest, result: BulkResult,
                cid: str, now: datetime, part: int | None = None) -> None:
    """ONE audit record for the operation (or for one committed part of a background job)."""
    detail = bulk_plans.entity_detail(result.written)
    extra = {"operation": req.operation, "params": audit_params(req),
             "total": result.total_items, "successful": result.successful_items,
             "failed": result.failed_items, "entities": detail,
             "failed_ids": bulk_plans.id_list(list(result.failure_details))}
    if part is not None:
        extra["part"] = part
    audit.write(session, [audit.AuditRecord(
        actor, f"bulk.{req.operation}", "bulk_operation", cid, message=req.comment,
        correlation_id=cid, risk="medium" if result.total_items > 100 else "low", extra=extra)], now)


def audit_params(req: BulkRequest) -> dict[str, Any]:
    return {k: v for k, v in req.params().items() if k != "comment"}


def record(session: Session, actor: Actor, req: BulkRequest, result: BulkResult,
            now: datetime) -> BulkOperation:
    """The BulkOperation row of a finished synchronous run."""
    op = BulkOperation(
        correlation_id=result.audit_correlation_id, operation_type=req.operation,
        actor=actor.name, params=req.params() | {"ids": list(req.ids), "role": actor.role},
        state="done", total_items=result.total_items, processed_items=result.total_items,
        successful_items=result.successful_items, failed_items=result.failed_items,
        result=stored_result(result), started_at=now, finished_at=now)
    session.add(op)
    session.flush()
    return op


def stored_result(result: BulkResult) -> dict[str, Any]:
    return result.to_dict() | {"rows": result.rows, "cascaded": result.cascaded}


def last_change_id(session: Session) -> int:
    """The newest history id: a preview made now says "changed after this" for later edits."""
    return session.scalar(select(StatusChange.id).order_by(StatusChange.id.desc()).limit(1)) or 0

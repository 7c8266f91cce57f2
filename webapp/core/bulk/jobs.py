"""Large bulk operations as background jobs: queued, then run chunk by chunk.

Each chunk (entities, history, outbox, its audit record and the job's progress) is one
transaction, so a crash leaves every chunk either fully written or not at all, and a job can
resume exactly where it stopped. All or nothing across a whole job is not offered: it would
hold the database's write lock (SQLite) or row locks (PostgreSQL) for minutes, blocking every
other writer; the preview shows the failures beforehand instead, and failing items are skipped.

Only one process runs a job at a time: it holds the job's lease (``bulk:<correlation id>``,
``core.base.lease``), renewed inside every chunk's transaction. A job whose lease ran out (its
process died or stalled) may be claimed and resumed by another process; the old holder's next
renew then fails, its chunk is rolled back, and it stops with ``LeaseLost``, leaving the job
(unfailed) to the new holder.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only
from sqlalchemy.orm.attributes import flag_modified

from webapp.core.base import lease
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound, PermissionDenied
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest, BulkResult
from webapp.core.bulk.plans import undo_targets
from webapp.core.changes.manager import StateManager
from webapp.models import BulkOperation, StatusChange

#: Selections larger than this run as a background job (the browser shows progress).
JOB_THRESHOLD = 2000
JOB_CHUNK = 1000
LEASE_TTL = timedelta(minutes=2)
#: A job keeps at most this many failure reasons (the counts cover the rest).
FAILURES_KEPT = 10_000
#: An open job whose lease was last renewed longer ago than this has stopped: the lease is
#: renewed at the start of every chunk, and a chunk of JOB_CHUNK items takes about a second,
#: so the page says so at once rather than after the lease's two minutes.
HEARTBEAT_STALE = timedelta(seconds=30)
#: The state shown for such a job (``shown_state``); workers resume it once its lease is out.
STALLED = "stalled"
LISTED = ("id", "correlation_id", "operation_type", "actor", "state", "total_items",
          "processed_items", "successful_items", "failed_items", "started_at", "finished_at")


def queue(session: Session, sm: StateManager, actor: Actor, req: BulkRequest, cid: str,
          now: datetime | None = None) -> BulkOperation:
    """Record a job (state ``queued``); a runner picks it up with ``run_job``."""
    req = bulk.sealed_update(session, sm, bulk.check_request(req))
    if req.dry_run:
        raise InvalidInput("A dry run is not queued; ask for a preview.", {"dry_run": "Use false."})
    bulk.check_limits(session, sm, req)
    with write_transaction(session):
        since = req.since_change_id if req.since_change_id is not None else bulk.last_change_id(session)
        op = BulkOperation(
            correlation_id=cid, operation_type=req.operation, actor=actor.name,
            params=req.params() | {"ids": list(req.ids), "role": actor.role,
                                   "since_change_id": since, "rollback_on_error": False},
            state="queued", total_items=len(req.ids), processed_items=0, result={},
            started_at=now or sm.clock())
        session.add(op)
    return op


def request_of(op: BulkOperation) -> tuple[BulkRequest, Actor]:
    p = op.params
    req = BulkRequest(
        op.operation_type, tuple(p["ids"]), p.get("target_state"), p.get("assignee"),
        p.get("update_data"), p.get("comment"), False, False, p.get("since_change_id"),
        p.get("undo_of"), bool(p.get("force")))
    return req, Actor(op.actor, p.get("role", "support"))


def run_job(session: Session, sm: StateManager, cid: str, holder: str,
            chunk_size: int = JOB_CHUNK,
            after_chunk: Callable[[BulkOperation], None] | None = None) -> BulkOperation | None:
    """Run (or resume) a job to its end; None when another process holds it (or it is over).

    Raises ``LeaseLost`` when another process took the job over (our lease had run out):
    nothing of the chunk at hand is written and the job is left to its new holder.
    """
    if not _claim(session, cid, holder, sm.clock()):
        return None
    op = get(session, cid)
    req, actor = request_of(op)
    try:
        for part in chunked(list(req.ids[op.processed_items:]), chunk_size):
            events = _run_chunk(session, sm, actor, req, cid, part, holder)
            sm.committed.publish(events)
            if after_chunk:
                after_chunk(get(session, cid))
        return _finish(session, sm, cid, holder)
    except lease.LeaseLost:
        session.rollback()
        raise
    except Exception as exc:
        _fail(session, sm, cid, holder, exc)
        raise


def _run_chunk(session: Session, sm: StateManager, actor: Actor, req: BulkRequest, cid: str,
               part: Any, holder: str) -> list[dict[str, Any]]:
    """One transaction: the lease renewed first (LeaseLost, and nothing written, when it is no
    longer ours; on PostgreSQL its row stays locked until the chunk commits, so nobody takes
    the job over mid-chunk), then the chunk's changes, its audit record and the progress."""
    now = sm.clock()
    with write_transaction(session):
        lease.keep(session, _lease_name(cid), holder, now, LEASE_TTL)
        op = get(session, cid)
        chunk = bulk.process_chunk(session, sm, actor, req, part, now, cid, write=True)
        partial = BulkResult(req.operation, False, total_items=len(part), audit_correlation_id=cid)
        partial.add(chunk)
        number = op.processed_items // max(1, len(part)) + 1
        bulk.write_audit(session, actor, req, partial, cid, now, part=number)
        _progress(op, partial, len(part))
    return chunk.events


def _progress(op: BulkOperation, partial: BulkResult, n: int) -> None:
    """Add one chunk to the job's row. The stored result is rebuilt as new objects and marked
    changed: a JSON column mutated in place is never written (every chunk after the first
    lost its failure reasons that way, and the kept reasons disagreed with the counts)."""
    result = dict(op.result or {})
    failures = dict(result.get("failure_details", {}))
    room = max(0, FAILURES_KEPT - len(failures))
    failures.update(list({str(k): v for k, v in partial.failure_details.items()}.items())[:room])
    rows = list(result.get("rows", []))
    result.update(failure_details=failures, rows=rows + partial.rows[:max(0, bulk.ROWS_KEPT - len(rows))],
                  cascaded=result.get("cascaded", 0) + partial.cascaded)
    op.result = result
    flag_modified(op, "result")
    op.state = "running"
    op.processed_items += n
    op.successful_items += partial.successful_items
    op.failed_items += partial.failed_items


def _finish(session: Session, sm: StateManager, cid: str, holder: str) -> BulkOperation:
    """Mark the job done and give its lease up, together: only while the lease is ours."""
    with write_transaction(session):
        if not lease.release_within(session, _lease_name(cid), holder):
            raise lease.LeaseLost(_lease_name(cid), holder)
        op = get(session, cid)
        op.result = final_result(session, op).to_dict() | {
            "rows": op.result.get("rows", []), "cascaded": op.result.get("cascaded", 0)}
        op.state, op.finished_at = "done", sm.clock()
    return op


def final_result(session: Session, op: BulkOperation) -> BulkResult:
    """The contract's bulk result of a job, from its progress and its history rows."""
    stored = op.result or {}
    failures = {int(k): v for k, v in stored.get("failure_details", {}).items()}
    processed = op.params.get("ids", [])[:op.processed_items]
    if op.failed_items > len(failures):  # reasons were capped: ask the history who changed
        done = set(session.scalars(select(StatusChange.entity_id).where(
            StatusChange.correlation_id == op.correlation_id,
            StatusChange.source.in_(("bulk", "revert")))))
        succeeded = [i for i in processed if i in done]
    else:
        succeeded = [i for i in processed if i not in failures]
    result = BulkResult(op.operation_type, False, total_items=op.total_items,
                        successful_ids=succeeded, failure_details=failures,
                        audit_correlation_id=op.correlation_id, cascaded=stored.get("cascaded", 0))
    if op.failed_items > len(failures):
        result.warnings.append(f"Only the first {len(failures):,} of {op.failed_items:,} failure "
                               f"reasons were kept.")
    if result.cascaded:
        result.warnings.append(f"{result.cascaded:,} related entities changed with them "
                               f"(cascades and derived statuses).")
    return result


def _fail(session: Session, sm: StateManager, cid: str, holder: str, exc: Exception) -> None:
    """Mark the job failed and give its lease up -- unless another process took the job over
    meanwhile: then the job is theirs to finish, not ours to fail."""
    session.rollback()
    with write_transaction(session):
        if not lease.release_within(session, _lease_name(cid), holder):
            return
        op = get(session, cid)
        op.state, op.finished_at = "failed", sm.clock()
        op.result = {**(op.result or {}), "error": f"{type(exc).__name__}: {exc}"[:500]}


# ------------------------------------------------------------------------------ leases


def _lease_name(cid: str) -> str:
    return f"bulk:{cid}"


def _claim(session: Session, cid: str, holder: str, now: datetime) -> bool:
    """Take the job's lease if the job is still open and the lease free, expired or already
    ours; False otherwise. The state check and the lease commit together."""
    with write_transaction(session):
        state = session.scalar(select(BulkOperation.state).where(BulkOperation.correlation_id == cid))
        return state in ("queued", "running") and lease.acquire_within(
            session, _lease_name(cid), holder, now, LEASE_TTL)


def orphans(session: Session, now: datetime) -> list[str]:
    """Jobs queued or running whose process is gone (no lease, or an expired one)."""
    session.rollback()
    open_jobs = list(session.scalars(select(BulkOperation.correlation_id).where(
        BulkOperation.state.in_(("queued", "running")))))
    held = lease.held(session, [_lease_name(c) for c in open_jobs], now)
    return [c for c in open_jobs if _lease_name(c) not in held]


def shown_state(session: Session, op: BulkOperation, now: datetime) -> str:
    """The job's state as a person should read it: ``STALLED`` when it is open but its process
    stopped (killed, crashed): running with its lease gone or expired, or holding a lease whose
    last renewal (its expiry minus ``LEASE_TTL``) is older than ``HEARTBEAT_STALE``. A queued
    job nobody claimed yet is just queued."""
    if op.state not in ("queued", "running"):
        return op.state
    held = lease.current(session, _lease_name(op.correlation_id), now)
    if held is None:
        return STALLED if op.state == "running" else op.state
    return STALLED if held.expires_at - LEASE_TTL < now - HEARTBEAT_STALE else op.state


def shown_states(session: Session, ops: list[BulkOperation], now: datetime) -> dict[str, str]:
    """``shown_state`` of each operation, by correlation id (leases read for open jobs only)."""
    return {op.correlation_id: shown_state(session, op, now) for op in ops}


# ------------------------------------------------------------------------------- reads


def get(session: Session, cid: str) -> BulkOperation:
    op = session.scalar(select(BulkOperation).where(BulkOperation.correlation_id == cid))
    if op is None:
        raise NotFound(f"No bulk operation {cid!r}.")
    return op


def recent(session: Session, limit: int = 50) -> list[BulkOperation]:
    """The newest operations, without their (possibly large) parameters and results."""
    return list(session.scalars(select(BulkOperation).options(
        load_only(*(getattr(BulkOperation, c) for c in LISTED)))
        .order_by(BulkOperation.id.desc()).limit(limit)))


def result_of(op: BulkOperation) -> dict[str, Any]:
    """The contract's bulk result as stored with an operation."""
    keep = ("rows", "cascaded", "error")
    return {k: v for k, v in (op.result or {}).items() if k not in keep}


def undo_request(session: Session, actor: Actor, cid: str, dry_run: bool,
                 comment: str | None = None, force: bool = False) -> BulkRequest:
    """The request that undoes operation ``cid`` (404 when it changed nothing)."""
    if force and not actor.may("force"):
        raise PermissionDenied("Only an admin may force an undo the workflow forbids.")
    ids = undo_targets(session, cid)
    if not ids:
        known = session.scalar(select(BulkOperation.id).where(BulkOperation.correlation_id == cid))
        raise NotFound(f"Bulk operation {cid!r} " + ("changed nothing; there is nothing to undo."
                                                     if known else "does not exist."))
    return BulkRequest("undo", tuple(dict.fromkeys(ids)), dry_run=dry_run, rollback_on_error=False,
                       undo_of=cid, comment=comment, force=force)


def with_watermark(session: Session, req: BulkRequest) -> BulkRequest:
    return replace(req, since_change_id=bulk.last_change_id(session))

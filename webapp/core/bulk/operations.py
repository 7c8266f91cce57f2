"""Bulk operations: one path for transition, assign, update and undo of many entities.

Every chunk of entities is loaded in one query, validated with the workflow and the rules in
batches, and written with a few set-based statements (``StateManager.apply``). The whole
operation gets one audit record with the per-entity detail, and a ``BulkOperation`` row
(``records``). What a request may say and the result's shape are in ``request``; their names
are imported from here too.

Modes: ``rollback_on_error`` is all or nothing (one failure and nothing is written, every
failure is reported); without it the valid items are written and each failed one is reported
with its reason. ``dry_run`` validates the same way and writes nothing, not even the
``BulkOperation`` row. Entities changed after ``since_change_id`` (the preview the user saw)
or by someone else while a chunk is written are reported, never overwritten.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.base.errors import ConcurrencyConflict
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import plans as bulk_plans
from webapp.core.bulk.plans import ROWS_KEPT, Chunk, load_entities
from webapp.core.bulk.records import last_change_id, record, stored_result, write_audit
from webapp.core.bulk.request import (
    ID_LIMIT,
    OPERATIONS,
    PROTECTED_KEYS,
    BulkRequest,
    BulkResult,
    check_assignee,
    check_ids,
    check_limits,
    check_request,
    check_update_data,
    sealed_update,
)
from webapp.core.changes import writer as changes
from webapp.core.changes.manager import StateManager

__all__ = ["CHUNK", "ID_LIMIT", "OPERATIONS", "PROTECTED_KEYS", "ROWS_KEPT", "BulkRequest",
           "BulkResult", "check_assignee", "check_ids", "check_limits", "check_request",
           "check_update_data", "last_change_id", "process_chunk", "run", "sealed_update",
           "stored_result", "write_audit"]

CHUNK = 1000


def run(session: Session, sm: StateManager, actor: Actor, req: BulkRequest, cid: str,
        now: datetime | None = None) -> BulkResult:
    """Validate every item and, unless a dry run, write them in one transaction (InvalidInput,
    before anything is read, when the request exceeds a type's bulk limit)."""
    now = now or sm.clock()
    req = sealed_update(session, sm, check_request(req))
    check_limits(session, sm, req)
    notes = _undo_notes(session, req)
    if req.dry_run:
        return _dry_run(session, sm, actor, req, now, notes)
    result, events = _written(session, sm, actor, req, cid, now, notes)
    sm.committed.publish(events)
    if result.was_rolled_back:  # nothing changed, but the attempt is on record
        with write_transaction(session):
            write_audit(session, actor, req, result, cid, now)
            record(session, actor, req, result, now)
    return result


def _dry_run(session: Session, sm: StateManager, actor: Actor, req: BulkRequest,
             now: datetime, notes: list[str]) -> BulkResult:
    session.rollback()  # a fresh read
    try:
        result = BulkResult(req.operation, True, warnings=list(notes))
        for chunk in _chunks(session, sm, actor, req, now, write=False):
            result.add(chunk)
        _finish(result, req)
        return result
    finally:
        session.rollback()


def _undo_notes(session: Session, req: BulkRequest) -> list[str]:
    if req.operation != "undo" or not req.undo_of:
        return []
    n = bulk_plans.cascaded_count(session, req.undo_of)
    session.rollback()
    return [(f"{n:,} cascaded changes of that operation are not undone; revert them one by one "
            f"if needed.")] if n else []


class _RollBack(Exception):
    """Ends an all-or-nothing transaction that had failures (nothing is written)."""


def _written(session: Session, sm: StateManager, actor: Actor, req: BulkRequest, cid: str,
             now: datetime, notes: list[str]) -> tuple[BulkResult, list[dict[str, Any]]]:
    result = BulkResult(req.operation, False, warnings=list(notes), audit_correlation_id=cid)
    events: list[dict[str, Any]] = []
    try:
        with write_transaction(session):
            for chunk in _chunks(session, sm, actor, req, now, write=True, cid=cid, result=result):
                result.add(chunk)
                events += chunk.events
            _finish(result, req)
            if result.was_rolled_back:
                raise _RollBack
            write_audit(session, actor, req, result, cid, now)
            record(session, actor, req, result, now)
    except _RollBack:
        return result, []
    return result, events


def _chunks(session: Session, sm: StateManager, actor: Actor, req: BulkRequest, now: datetime,
            write: bool, cid: str = "", result: BulkResult | None = None):
    """Validate (and write) chunk after chunk; all-or-nothing stops writing at the first failure.

    Chunks are cut from the ids in ascending order: each then touches neighbouring rows and
    index pages (twice as fast on scattered ids); results keep the order of the request.
    """
    for ids in chunked(sorted(req.ids), CHUNK):
        failing = bool(result and result.failure_details) and req.rollback_on_error
        yield process_chunk(session, sm, actor, req, ids, now, cid,
                            write=write and not failing)


def process_chunk(session: Session, sm: StateManager, actor: Actor, req: BulkRequest,
                  ids: Sequence[int], now: datetime, cid: str, write: bool) -> Chunk:
    """Load, validate and (when ``write``) apply one chunk inside the caller's transaction."""
    found = load_entities(session, ids, lock=write)
    chunk = bulk_plans.plan(session, sm, actor, req, ids, found, now, cid)
    if write and chunk.changes and not (req.rollback_on_error and chunk.failures):
        _apply(session, sm, actor, req, chunk, now, cid)
    return chunk


def _apply(session: Session, sm: StateManager, actor: Actor, req: BulkRequest, chunk: Chunk,
           now: datetime, cid: str) -> None:
    """Write the chunk's changes; entities someone else changed meanwhile are reported instead."""
    for _attempt in range(3):
        seen = {c.entity.id: c.entity.version for c in chunk.changes}
        try:
            with session.begin_nested():
                outcome = sm.apply(session, chunk.changes, actor, now, cid, f"bulk.{req.operation}",
                                   audit_each=False)
        except ConcurrencyConflict:
            _drop_stale(session, chunk, seen)
            continue
        chunk.events, chunk.cascaded = outcome.events, len(outcome.cascaded)
        chunk.written = [(c.entity.id, c.old_status, c.new_status) for c in chunk.changes]
        return
    raise ConcurrencyConflict("The entities kept changing during the operation; try again.", None, 0)


def _drop_stale(session: Session, chunk: Chunk, seen: dict[int, int]) -> None:
    """Report the entities whose version moved; the others are read again and retried."""
    fresh = changes.lock_rows(session, list(seen))
    stale = {eid for eid, version in seen.items() if eid not in fresh or fresh[eid].version != version}
    for eid in stale:
        chunk.failures[eid] = ("It was changed by someone else during the operation; "
                               "it was left as they made it.")
    chunk.changes = [c for c in chunk.changes if c.entity.id not in stale]
    for c in chunk.changes:  # the failed attempt may have updated them in memory
        c.entity = fresh[c.entity.id]


def _finish(result: BulkResult, req: BulkRequest) -> None:
    result.total_items = len(req.ids)
    _in_request_order(result, req.ids)
    if result.failure_details and req.rollback_on_error and result.successful_ids:
        n, bad = len(result.successful_ids), result.failed_items
        verb = "would be" if result.dry_run else "was"
        result.warnings.append(
            f"All or nothing: {bad:,} item{'s' if bad != 1 else ''} failed, so nothing {verb} "
            f"written; the other {n:,} were valid.")
        if not result.dry_run:
            result.successful_ids = []
            result.was_rolled_back = True
    elif result.failure_details and req.rollback_on_error and not result.dry_run:
        result.was_rolled_back = True
    if result.cascaded and not result.was_rolled_back:
        result.warnings.append(f"{result.cascaded:,} related entities changed with them "
                               f"(cascades and derived statuses).")


def _in_request_order(result: BulkResult, ids: Sequence[int]) -> None:
    position = {eid: n for n, eid in enumerate(ids)}
    result.successful_ids.sort(key=position.__getitem__)
    result.failure_details = dict(sorted(result.failure_details.items(),
                                         key=lambda item: position[item[0]]))
    result.rows.sort(key=lambda row: position[row["id"]])

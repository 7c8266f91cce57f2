"""Bulk operations: one path for transition, assign, update and undo of many entities.

Every chunk of entities is loaded in one query, validated with the workflow and the rules in
batches, and written with a few set-based statements (``StateManager.apply``). The whole
operation gets one audit record with the per-entity detail, and a ``BulkOperation`` row.

Modes: ``rollback_on_error`` is all or nothing (one failure and nothing is written, every
failure is reported); without it the valid items are written and each failed one is reported
with its reason. ``dry_run`` validates the same way and writes nothing, not even the
``BulkOperation`` row. Entities changed after ``since_change_id`` (the preview the user saw)
or by someone else while a chunk is written are reported, never overwritten.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import ConcurrencyConflict, InvalidInput, storable_id
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import plural
from webapp.core.bulk import plans as bulk_plans
from webapp.core.bulk.plans import ROWS_KEPT, Chunk, load_entities
from webapp.core.changes import writer as changes
from webapp.core.changes.manager import StateManager
from webapp.core.fields.secrets import sensitive_names
from webapp.models import BulkOperation, StatusChange

OPERATIONS = ("transition", "assign", "update", "undo")
#: Most ids one request may name (CONTRACT.md §6).
ID_LIMIT = 1000
CHUNK = 1000
PROTECTED_KEYS = ("id", "type", "status", "version")


@dataclass(frozen=True)
class BulkRequest:
    """What to do to which entities (``undo_of`` names the operation an undo reverses)."""

    operation: str
    ids: tuple[int, ...] = ()
    target_state: str | None = None
    assignee: str | None = None
    update_data: dict[str, Any] | None = None
    comment: str | None = None
    dry_run: bool = False
    rollback_on_error: bool = True
    #: History id the user's preview was made at: entities changed after it are skipped.
    since_change_id: int | None = None
    undo_of: str | None = None
    #: Undo even where the workflow has no way back (admins only).
    force: bool = False

    def params(self) -> dict[str, Any]:
        """The request as stored with the operation (ids apart: they are counted)."""
        keep = ("target_state", "assignee", "update_data", "comment", "rollback_on_error",
                "undo_of", "force")
        return {k: getattr(self, k) for k in keep if getattr(self, k) not in (None, False)} | {
            "rollback_on_error": self.rollback_on_error}


@dataclass
class BulkResult:
    """The contract's bulk result (CONTRACT.md §6), plus preview rows for the pages."""

    operation_type: str
    dry_run: bool
    total_items: int = 0
    successful_ids: list[int] = field(default_factory=list)
    failure_details: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    was_rolled_back: bool = False
    audit_correlation_id: str | None = None
    #: The first ROWS_KEPT items: {"id","type","name","old_status","new_status","ok","message"}.
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: Follow-up changes written with the operation (cascades, derived statuses).
    cascaded: int = 0
    #: (entity id, old status, new status) of every change written, for the audit record.
    written: list[tuple[int, str | None, str]] = field(default_factory=list)

    @property
    def successful_items(self) -> int:
        return len(self.successful_ids)

    @property
    def failed_items(self) -> int:
        return len(self.failure_details)

    @property
    def success_rate(self) -> float:
        """Percent of the items that were (or in a dry run would be) changed."""
        return round(100.0 * self.successful_items / self.total_items, 1) if self.total_items else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation_type": self.operation_type, "total_items": self.total_items,
            "successful_items": self.successful_items, "failed_items": self.failed_items,
            "success_rate": self.success_rate, "successful_ids": list(self.successful_ids),
            "failed_ids": list(self.failure_details),
            "failure_details": {str(k): v for k, v in self.failure_details.items()},
            "warnings": list(self.warnings), "was_rolled_back": self.was_rolled_back,
            "dry_run": self.dry_run, "audit_correlation_id": self.audit_correlation_id,
        }

    def add(self, chunk: Chunk) -> None:
        self.successful_ids += [c.entity.id for c in chunk.changes] + chunk.unchanged
        self.failure_details.update(chunk.failures)
        self.rows += chunk.rows[:max(0, ROWS_KEPT - len(self.rows))]
        self.cascaded += chunk.cascaded
        self.written += chunk.written


# ------------------------------------------------------------------------- input checks


def check_ids(ids: Any, limit: int | None = ID_LIMIT) -> tuple[int, ...]:
    """1 to ``limit`` whole-number ids without duplicates, else InvalidInput naming the problem."""
    if not isinstance(ids, list | tuple) or not ids:
        raise InvalidInput("Say which entities: ids must be a non-empty list.",
                           {"ids": "Send a list of entity ids, e.g. [1, 2, 3]."})
    if limit is not None and len(ids) > limit:
        raise InvalidInput(f"Too many ids: {len(ids):,} (at most {limit:,} per request).",
                           {"ids": f"Send at most {limit:,} ids; split larger operations."})
    bad = [i for i in ids if not storable_id(i)]
    if bad:
        raise InvalidInput("Every id must be a whole number.",
                           {"ids": f"Not an entity id: {', '.join(map(repr, bad[:5]))}."})
    seen: set[int] = set()
    dupes = sorted({i for i in ids if i in seen or seen.add(i)})
    if dupes:
        raise InvalidInput("The ids contain duplicates.",
                           {"ids": f"Duplicated: {', '.join(map(str, dupes[:10]))}."})
    return tuple(ids)


def check_update_data(data: Any) -> dict[str, Any]:
    """A non-empty merge patch that leaves the entity's own fields alone."""
    if not isinstance(data, dict) or not data:
        raise InvalidInput("update_data must be a non-empty JSON object.",
                           {"update_data": "Send the data fields to change, e.g. {\"priority\": \"HIGH\"}."})
    refused = sorted(k for k in data if k in PROTECTED_KEYS or str(k).startswith("created_"))
    if refused:
        raise InvalidInput("update_data may not set protected fields.",
                           {f"update_data.{k}": "protected: change it another way" for k in refused})
    return data


def check_assignee(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Say whom to assign to.", {"assignee": "A name is required."})
    if len(value.strip()) > 200:
        raise InvalidInput("assignee is too long.", {"assignee": "At most 200 characters."})
    return value.strip()


def check_request(req: BulkRequest) -> BulkRequest:
    """The request with its operation-specific fields checked (InvalidInput otherwise)."""
    if req.operation not in OPERATIONS:
        raise InvalidInput(f"Unknown bulk operation {req.operation!r}.",
                           {"operation": f"One of: {', '.join(OPERATIONS)}."})
    if req.operation == "transition" and not (isinstance(req.target_state, str)
                                              and req.target_state.strip()):
        raise InvalidInput("Say which state to move to.", {"target_state": "A state name is required."})
    if req.operation == "assign":
        return replace(req, assignee=check_assignee(req.assignee))
    if req.operation == "update":
        check_update_data(req.update_data)
    return req


def sealed_update(session: Session, sm: StateManager, req: BulkRequest) -> BulkRequest:
    """The request with the values of sensitive fields in ``update_data`` sealed, so that the
    operation's stored params and its audit record never hold them (CONTRACT §7); writing
    opens them again to check them against each entity's fields."""
    if not req.update_data:
        return req
    names = sensitive_names(wf.fields for wf in sm.workflows.all(session).values())
    return replace(req, update_data=sm.keyring.seal_named(names, req.update_data))


def check_limits(session: Session, sm: StateManager, req: BulkRequest) -> None:
    """A type whose workflow names a ``bulk_limit`` setting (the realestate pack's property:
    ``property_bulk_operation_max``) is capped at that many entities per request; the
    entities are counted only when the request names more ids than some cap.

    One rule on every path: ``run`` (so the preview, a dry run, refuses what Run would) and
    ``jobs.queue`` apply it. An undo is exempt: it puts back what one operation changed, and
    putting things back is never refused for its size."""
    if req.operation == "undo":
        return
    settings = sm.settings.all(session)
    limits = {t: wf.bulk_limit for t, wf in sorted(sm.workflows.all(session).items())
              if wf.bulk_limit in settings}
    for entity_type, setting in limits.items():
        cap = settings[setting]
        if len(req.ids) <= cap:
            continue
        n = bulk_plans.count_of_type(session, req.ids, entity_type)
        if n > cap:
            raise InvalidInput(f"This request names {plural(n, entity_type)}; at most {cap:,} may "
                               f"be changed at once (setting {setting}).",
                               {"ids": f"At most {plural(cap, entity_type)} per request."})


# --------------------------------------------------------------------------- running


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
            _record(session, actor, req, result, now)
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
            _record(session, actor, req, result, now)
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


# ---------------------------------------------------------------------- records


def write_audit(session: Session, actor: Actor, req: BulkRequest, result: BulkResult,
                cid: str, now: datetime, part: int | None = None) -> None:
    """ONE audit record for the operation (or for one committed part of a background job)."""
    detail = bulk_plans.entity_detail(result.written)
    extra = {"operation": req.operation, "params": _audit_params(req),
             "total": result.total_items, "successful": result.successful_items,
             "failed": result.failed_items, "entities": detail,
             "failed_ids": bulk_plans.id_list(list(result.failure_details))}
    if part is not None:
        extra["part"] = part
    audit.write(session, [audit.AuditRecord(
        actor, f"bulk.{req.operation}", "bulk_operation", cid, message=req.comment,
        correlation_id=cid, risk="medium" if result.total_items > 100 else "low", extra=extra)], now)


def _audit_params(req: BulkRequest) -> dict[str, Any]:
    return {k: v for k, v in req.params().items() if k != "comment"}


def _record(session: Session, actor: Actor, req: BulkRequest, result: BulkResult,
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

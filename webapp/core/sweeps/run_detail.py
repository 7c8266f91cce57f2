"""A past sweep run: what it warned, made inactive and reactivated (paged), and its undo.

A run's changes carry its correlation id in the history (inactivations with source
``sweep``, reactivations with source ``activity``); the id itself is on the run's audit
record (``sweep.run``, written when the run ends). Its warnings are the ``EntityWarned``
events written at the run's moment with that id. Undo is a bulk undo of that correlation id
(core/bulk): each change is put back as a new change (source ``revert``), entities changed
since are reported, never overwritten, and a warning, once sent, stays sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.base.errors import NotFound, PermissionDenied, storable_id
from webapp.core.base.events import ENTITY_WARNED
from webapp.core.bulk.operations import BulkRequest
from webapp.core.bulk.plans import undo_targets
from webapp.models import AuditEntry, Entity, OutboxEvent, StatusChange, SweepRun

#: What a run did, by the history source of its changes (warnings have no history row).
SOURCES = {"inactivate": "sweep", "reactivate": "activity"}
ACTIONS = ("warn", "inactivate", "reactivate")
PAGE = 50


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    #: The ``after`` of the next page, None on the last one.
    next_cursor: int | None


def get(session: Session, run_id: Any) -> SweepRun:
    run = session.get(SweepRun, run_id) if storable_id(run_id) else None
    if run is None:
        raise NotFound(f"No sweep run {run_id}.")
    return run


def correlation_id(session: Session, run: SweepRun) -> str | None:
    """The run's correlation id, from its audit record (None while it runs, or when it died
    before recording itself, or once the audit retention archived the record)."""
    return session.scalar(select(AuditEntry.correlation_id).where(
        AuditEntry.object_type == "sweep_run", AuditEntry.object_id == str(run.id),
        AuditEntry.event_type == "sweep.run").limit(1))


def items(session: Session, run: SweepRun, cid: str | None, action: str,
          after: int | None = None, limit: int | None = None) -> Page:
    """One keyset page of the entities the run acted on with ``action``: [{id, type, name,
    status (now), old_status, new_status, change_id}] (warnings: no statuses, days_quiet)."""
    limit = limit or PAGE
    if cid is None or not _count(run, action):
        return Page([], None)
    rows = (_warned if action == "warn" else _changed)(session, run, cid, action, after, limit + 1)
    return Page(rows[:limit], rows[limit - 1]["cursor"] if len(rows) > limit else None)


def _count(run: SweepRun, action: str) -> int:
    return {"warn": run.warned, "inactivate": run.inactivated, "reactivate": run.reactivated}[action]


def _changed(session: Session, run: SweepRun, cid: str, action: str, after: int | None,
             limit: int) -> list[dict[str, Any]]:
    h = StatusChange
    stmt = (select(h.id, h.entity_id, h.old_status, h.new_status, h.reason, Entity.type,
                   Entity.name, Entity.status)
            .join(Entity, Entity.id == h.entity_id)
            .where(h.correlation_id == cid, h.source == SOURCES[action])
            .order_by(h.id).limit(limit))
    if after:
        stmt = stmt.where(h.id > after)
    return [{"cursor": r.id, "change_id": r.id, "id": r.entity_id, "type": r.type,
             "name": r.name, "status": r.status, "old_status": r.old_status,
             "new_status": r.new_status, "reason": r.reason} for r in session.execute(stmt)]


def _warned(session: Session, run: SweepRun, cid: str, _action: str, after: int | None,
            limit: int) -> list[dict[str, Any]]:
    o = OutboxEvent
    stmt = (select(o.id, o.entity_id, o.payload, Entity.status)
            .outerjoin(Entity, Entity.id == o.entity_id)
            .where(o.event_type == ENTITY_WARNED, o.created_at == run.started_at,
                   o.payload["correlation_id"].as_string() == cid)
            .order_by(o.id).limit(limit))
    if after:
        stmt = stmt.where(o.id > after)
    return [{"cursor": r.id, "id": r.entity_id, "type": r.payload.get("type"),
             "name": r.payload.get("name"), "status": r.status,
             "days_quiet": r.payload.get("days_quiet"),
             "inactive_on": r.payload.get("inactive_on")} for r in session.execute(stmt)]


def summary(session: Session, run: SweepRun, cid: str | None) -> dict[str, Any]:
    """The run as the API shows it."""
    return {"id": run.id, "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "triggered_by": run.triggered_by, "scanned": run.scanned, "warned": run.warned,
            "inactivated": run.inactivated, "reactivated": run.reactivated, "error": run.error,
            "correlation_id": cid, "undoable": undoable(run, cid)}


def undoable(run: SweepRun, cid: str | None) -> bool:
    return bool(cid and run.finished_at and (run.inactivated or run.reactivated))


def undo_request(session: Session, actor: Actor, run: SweepRun, dry_run: bool,
                 comment: str | None = None, force: bool = False) -> BulkRequest:
    """The bulk undo of everything the run changed itself (NotFound when it changed
    nothing, or its record is gone)."""
    if force and not actor.may("force"):
        raise PermissionDenied("Only an admin may force an undo the workflow forbids.")
    cid = correlation_id(session, run)
    if run.finished_at is None:
        raise NotFound(f"Sweep run {run.id} has not finished; there is nothing to undo yet.")
    ids = undo_targets(session, cid) if cid else []
    if not ids:
        raise NotFound(f"Sweep run {run.id} " + ("made no change; there is nothing to undo."
                                                 if cid else "has no record of its changes."))
    return BulkRequest("undo", tuple(dict.fromkeys(ids)), dry_run=dry_run,
                       rollback_on_error=False, undo_of=cid,
                       comment=comment or f"Undo of sweep run {run.id}.", force=force)

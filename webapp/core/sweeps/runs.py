"""Running the sweep for real: alone (under the sweep lease), on record (a SweepRun row).

Every real run, whoever starts it (the worker, the page, the API, the CLI), takes the lease
named ``sweep`` first, renews it before each chunk and gives it up at the end, so two
processes never sweep at once; a crashed holder stops renewing and its lease runs out.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base import lease
from webapp.core.base.actor import SWEEPER, Actor
from webapp.core.base.errors import StatekeeperError
from webapp.core.base.events import outbox_row, outbox_table
from webapp.core.base.transactions import write_transaction
from webapp.core.sweeps.sweep import SweepReport, sweep
from webapp.models import SweepRun

if TYPE_CHECKING:
    from webapp.core.changes.manager import StateManager

LEASE = "sweep"
#: Far longer than one chunk takes; renewed before every chunk.
LEASE_TTL = timedelta(minutes=2)
SWEEP_COMPLETED = "SweepCompleted"

Clock = Callable[[], datetime]


class SweepBusy(StatekeeperError):
    """Another process is sweeping right now."""

    status = 409
    code = "conflict"


def run(session: Session, sm: StateManager, clock: Clock, *, actor: Actor = SWEEPER,
        only_if_due: bool = False, stopping: Callable[[], bool] = lambda: False
        ) -> SweepReport | None:
    """Sweep now, alone and on record; SweepBusy when another process holds the lease.

    With ``only_if_due`` (the worker) nothing happens unless the interval has passed since
    the last run -- checked again once the lease is ours, as another process may just have
    finished one. ``stopping`` (the worker's shutdown) ends the sweep between two chunks.
    """
    holder = lease.new_holder(actor.name)
    if not lease.acquire(session, LEASE, holder, clock(), LEASE_TTL):
        raise SweepBusy(busy_message(session, clock()))

    def guard() -> str | None:
        if stopping():
            return "the process is shutting down"
        if not lease.renew(session, LEASE, holder, clock(), LEASE_TTL):
            return "another process took the sweep lease over"
        return None

    try:
        if only_if_due and not is_due(session, sm, clock(), holder):
            return None
        return _recorded(session, sm, clock, actor, guard)
    finally:
        lease.release(session, LEASE, holder)


def busy_message(session: Session, now: datetime) -> str:
    info = lease.current(session, LEASE, now)
    who = f" ({info.holder}, lease until {info.expires_at:%H:%M:%S} UTC)" if info else ""
    return f"A sweep is already running{who}. Try again when it has finished."


def _recorded(session: Session, sm: StateManager, clock: Clock, actor: Actor,
              guard: Callable[[], str | None]) -> SweepReport:
    started, t0 = clock(), time.perf_counter()
    run_id = _start(session, started, actor)
    report = SweepReport(started, dry_run=False)
    report.run_id = run_id
    try:
        sweep(session, sm, started, guard=guard, report=report)
    except BaseException as exc:
        session.rollback()
        _finish(session, report, started + _since(t0), actor, f"{type(exc).__name__}: {exc}")
        raise
    _finish(session, report, started + _since(t0), actor, _trouble(report))
    return report


def _since(t0: float) -> timedelta:
    return timedelta(seconds=time.perf_counter() - t0)


def _start(session: Session, now: datetime, actor: Actor) -> int:
    with write_transaction(session):
        row = SweepRun(started_at=now, triggered_by=actor.name[:80], dry_run=False)
        session.add(row)
        session.flush()
        return row.id


def _finish(session: Session, report: SweepReport, finished: datetime, actor: Actor,
            error: str | None) -> None:
    """Counts, error and the SweepCompleted event (when anything changed), in one transaction."""
    with write_transaction(session):
        session.execute(update(SweepRun).where(SweepRun.id == report.run_id).values(
            finished_at=finished, scanned=report.scanned, warned=report.warned,
            inactivated=report.inactivated, reactivated=report.reactivated,
            error=error[:500] if error else None))
        if report.changed_anything:
            session.connection().execute(insert(outbox_table()), [
                outbox_row(SWEEP_COMPLETED, None, completed_event(report), report.as_of)])
        audit.write(session, [audit.AuditRecord(
            actor, "sweep.run", "sweep_run", str(report.run_id), message=report.summary(),
            correlation_id=report.correlation_id,
            extra={"by_type": report.by_type, **({"problems": report.problems} if report.problems else {}),
                   **({"error": error[:300]} if error else {})})],
            report.as_of)


def completed_event(report: SweepReport) -> dict[str, Any]:
    made_inactive = [i for i in report.items if i["action"] == "inactivate"]
    return {"event": SWEEP_COMPLETED, "run_id": report.run_id, "warned": report.warned,
            "inactivated": report.inactivated, "reactivated": report.reactivated,
            "refused": report.refused, "by_type": report.by_type,
            "examples": [{"id": i["id"], "type": i["type"], "name": i["name"]}
                         for i in made_inactive[:5]],
            "correlation_id": report.correlation_id, "actor": SWEEPER.name, "source": "sweep"}


def _trouble(report: SweepReport) -> str | None:
    """What the run's record says went wrong: refusals, and types it could not sweep."""
    said = list(report.problems)
    if report.refused:
        first = report.errors[0]
        said.insert(0, f"{report.refused} refused by the workflow's rules, e.g. "
                       f"{first['type']} {first['id']}: {' '.join(first['messages'])}")
    return " ".join(said) or None


# -- reading the record ------------------------------------------------------------------------

def last_run(session: Session) -> SweepRun | None:
    return session.scalar(select(SweepRun).order_by(SweepRun.id.desc()).limit(1))


def is_due(session: Session, sm: StateManager, now: datetime, holder: str | None = None) -> bool:
    """True when the interval has passed since the last run, or that run died unfinished."""
    last = last_run(session)
    if last is None:
        return True
    if last.finished_at is None:
        info = lease.current(session, LEASE, now)
        return info is None or info.holder == holder  # its holder crashed
    return next_due(session, sm, last) <= now


def next_due(session: Session, sm: StateManager, last: SweepRun | None) -> datetime | None:
    if last is None:
        return None
    return last.started_at + timedelta(minutes=sm.settings.get(session, "sweep_interval_minutes"))


def recent_runs(session: Session, before_id: int | None = None, limit: int = 25) -> list[SweepRun]:
    """Newest first, a keyset page below ``before_id``."""
    stmt = select(SweepRun).order_by(SweepRun.id.desc()).limit(limit)
    if before_id:
        stmt = stmt.where(SweepRun.id < before_id)
    return list(session.scalars(stmt))

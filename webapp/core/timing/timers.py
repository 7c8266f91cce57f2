"""Timers: a state's ``timeout`` takes its transition when due (CONTRACT §8), through the
same door and the same checks as a person (workflow, roles, comment, rules; a transition that
needs approval asks for it), with history source ``timer``.

Due: in the state for ``after_hours`` (``status_changed_at`` at or before now minus the hours),
or ``at_field``'s date or time reached (the field's SQL expression from fields/columns.py, so
a filterable field's index serves the range). Entities are found set-based per (type, state),
then re-checked, planned and written in chunks, each its own transaction under the ``timers``
lease (kept inside the chunk's transaction: work under a lost lease is rolled back), so one
process at a time runs them and a crash leaves finished chunks done.

A timer that does not move its entity -- refused, or turned into an approval request -- is
recorded once per entry into the state (a ``TimerAttempt`` keyed by the entity and its
``status_changed_at``), with a ``TimerFailed`` event saying why; the due query leaves such
entities out, so nothing is retried on every tick. Entering the state again starts a new
timer.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from webapp.core.approvals import requests as approval_requests
from webapp.core.audit import chain as audit
from webapp.core.base import lease
from webapp.core.base.actor import Actor
from webapp.core.base.errors import StatekeeperError
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.upserts import insert_ignore
from webapp.core.base.words import label, plural
from webapp.core.changes.writer import EntityRow, insert_outbox, lock_rows
from webapp.core.fields import columns
from webapp.core.workflows.definition import State, Transition, Workflow
from webapp.core.workflows.timing import Timeout
from webapp.models import Entity, TimerAttempt

if TYPE_CHECKING:
    from webapp.core.changes.manager import StateManager

#: Who a timer acts as: a system actor, checked like an administrator would be.
TIMER = Actor("timer", "admin")
LEASE = "timers"
LEASE_TTL = timedelta(minutes=2)
#: Entities per write transaction (as the sweep's chunks: bench/timers.py).
CHUNK = 5000
TIMER_FAILED = "TimerFailed"
#: Items listed in a report; the counts are always complete.
ITEMS_MAX = 200

Clock = Callable[[], datetime]
_T = Entity.__table__
_A = TimerAttempt.__table__


class TimersBusy(Exception):
    """Another process is running the timers right now."""


@dataclass(frozen=True)
class Timer:
    """One state's timeout in one workflow, with the transition it takes."""

    wf: Workflow
    state: State
    timeout: Timeout
    move: Transition

    @property
    def type(self) -> str:
        return self.wf.entity_type

    def comment(self) -> str:
        return f"Timer: {self.timeout.describe()} in {self.state.name}"

    def reason(self) -> str:
        """The history's reason for each move it makes (one text for the whole run)."""
        t = self.timeout
        if t.at_field is not None:
            return f"{label(t.at_field).capitalize()} reached"
        return f"{t.after_hours:g} hours in {self.state.name}"


def timers(workflows: dict[str, Workflow]) -> list[Timer]:
    """Every state timeout in force whose transition exists (workflow checks refuse others)."""
    found = []
    for _, wf in sorted(workflows.items()):
        for state in wf.states.values():
            t = state.timeout
            move = next((m for m in wf.transitions_from(state.name) if t and m.name == t.action),
                        None)
            if t is not None and move is not None and _readable(wf, t):
                found.append(Timer(wf, state, t, move))
    return found


def _readable(wf: Workflow, t: Timeout) -> bool:
    if t.at_field is None:
        return t.after_hours is not None
    spec = wf.fields.get(t.at_field)
    return spec is not None and spec.type in ("date", "datetime")


@dataclass
class TimersReport:
    as_of: datetime
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    fired: int = 0
    refused: int = 0
    asked: int = 0
    #: {type: {"fired": n, "refused": n, "asked": n}}
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)

    def count(self, type_: str, key: str, rows: Sequence[Any],
              reasons: dict[int, list[str]] | None = None) -> None:
        if not rows:
            return
        setattr(self, key, getattr(self, key) + len(rows))
        counts = self.by_type.setdefault(type_, {"fired": 0, "refused": 0, "asked": 0})
        counts[key] += len(rows)
        for r in rows[:max(0, ITEMS_MAX - len(self.items))]:
            self.items.append({"id": r.id, "type": type_, "name": r.name, "outcome": key,
                               **({"reasons": reasons.get(r.id, [])} if reasons else {})})

    def summary(self) -> str:
        text = f"timers: {self.fired} fired, {self.refused} refused"
        return text + (f", {self.asked} asked for approval" if self.asked else "")


def run(session: Session, sm: StateManager, clock: Clock,
        stopping: Callable[[], bool] = lambda: False) -> TimersReport:
    """Every due timer at ``clock()``, alone under the lease; TimersBusy when another process
    holds it. ``stopping`` (the worker's shutdown) ends the pass between two chunks."""
    holder = lease.new_holder("timers")
    if not lease.acquire(session, LEASE, holder, clock(), LEASE_TTL):
        raise TimersBusy("Another process is running the timers.")
    report = TimersReport(clock())
    try:
        for timer in timers(sm.workflows.all(session)):
            _run_timer(session, sm, timer, report, lambda: (holder, clock()), stopping)
    finally:
        lease.release(session, LEASE, holder)
    return report


def due_conditions(dialect: str, timer: Timer, now: datetime, by_id: bool = False) -> list[Any]:
    """The SQL conditions for "this timer is due and was not tried in this entry yet".

    ``by_id`` for the re-check of a chunk of ids inside its transaction, written so that no
    index on type serves it (the ids' primary key does; see sweep._of_type)."""
    t = timer.timeout
    if by_id:
        of_type = _T.c.type.concat("") == timer.type
    elif t.at_field is not None:
        of_type = columns.type_literal(dialect, timer.type)  # proves the field's partial index
    else:
        of_type = _T.c.type == timer.type
    conditions = [of_type, _T.c.status == timer.state.name]
    if t.at_field is not None:
        spec = timer.wf.fields[t.at_field]
        value = columns.expression(dialect, t.at_field, spec)
        conditions.append(value <= field_cutoff(spec.type, now))
    else:
        conditions.append(_T.c.status_changed_at <= now - timedelta(hours=t.after_hours or 0))
    conditions.append(~exists().where(_A.c.entity_id == _T.c.id,
                                      _A.c.entered_at == _T.c.status_changed_at))
    return conditions


def field_cutoff(kind: str, now: datetime) -> str:
    """``now`` as the field stores it (fields/kinds.py): a text that sorts in time order."""
    now = now.astimezone(UTC)
    return now.date().isoformat() if kind == "date" else now.strftime("%Y-%m-%dT%H:%M:%SZ")


def due_ids(session: Session, timer: Timer, now: datetime) -> list[int]:
    dialect = session.get_bind().dialect.name
    return list(session.scalars(select(_T.c.id).where(*due_conditions(dialect, timer, now))
                                .order_by(_T.c.id)))


_Lease = Callable[[], tuple[str, datetime]]


def _run_timer(session: Session, sm: StateManager, timer: Timer, report: TimersReport,
               held: _Lease, stopping: Callable[[], bool]) -> None:
    ids = due_ids(session, timer, report.as_of)
    session.rollback()  # end the read; each chunk writes in a transaction of its own
    asks = bool(approval_requests.approval_roles(timer.wf, timer.state.name, timer.move.target))
    for chunk in chunked(ids, 1 if asks else CHUNK):
        if stopping():
            return
        if asks:
            _ask(session, sm, timer, chunk[0], report, held)
        else:
            _fire(session, sm, timer, chunk, report, held)


def _keep(session: Session, held: _Lease) -> None:
    holder, now = held()
    lease.keep(session, LEASE, holder, now, LEASE_TTL)


def _fire(session: Session, sm: StateManager, timer: Timer, ids: Sequence[int],
          report: TimersReport, held: _Lease) -> None:
    """One chunk: re-check who is due, plan as a person's move would be, write the allowed
    moves through the StateManager and record the refusals, in one transaction."""
    now = report.as_of
    with write_transaction(session):
        _keep(session, held)
        dialect = session.get_bind().dialect.name
        found = lock_rows(session, ids, True, due_conditions(dialect, timer, now, by_id=True))
        due = [found[i] for i in ids if i in found]
        plan = sm.plan(session, timer.wf, due, timer.move.target, TIMER, timer.comment(),
                       "timer", now)
        reason = timer.reason()
        for change in plan.changes:
            change.reason = reason
        refused = {eid: messages for eid, (_kind, messages) in plan.failures.items()}
        _record(session, timer, [e for e in due if e.id in refused], "refused", refused, now,
                report)
        if plan.changes:
            sm.apply(session, plan.changes, TIMER, now, report.correlation_id, "timer.fire",
                     audit_each=False, events=False)
            moved = [c.entity.id for c in plan.changes]
            audit.write(session, [audit.AuditRecord(
                TIMER, "timer.fire", timer.type, None,
                message=f"{plural(len(moved), timer.type)} moved to {timer.move.target} by "
                        f"the timer ({timer.timeout.describe()})",
                correlation_id=report.correlation_id,
                extra={"count": len(moved), "ids": moved[:200]})], now)
    report.count(timer.type, "fired", [c.entity for c in plan.changes])
    report.count(timer.type, "refused", [e for e in due if e.id in refused], refused)


def _ask(session: Session, sm: StateManager, timer: Timer, entity_id: int,
         report: TimersReport, held: _Lease) -> None:
    """A timeout whose transition needs approval asks for it (once per entry), as a person's
    move would; the request, or the refusal, is recorded."""
    now = report.as_of
    try:
        approval = approval_requests.ask(sm, session, TIMER, entity_id, timer.move.target,
                                         reason=timer.comment(), source="timer")
        outcome, reasons, approval_id = "asked", [
            f"Asked {' or '.join(approval.roles)} to approve (request #{approval.id})."], \
            approval.id
    except StatekeeperError as err:
        session.rollback()
        outcome, reasons, approval_id = "refused", list(getattr(err, "messages", None)
                                                         or [err.message]), None
    with write_transaction(session):
        _keep(session, held)
        row = lock_rows(session, [entity_id], True).get(entity_id)
        if row is None:
            return
        if outcome == "asked":
            # the entry the request was made in (still the current one: it asked, not moved)
            insert_ignore(session, TimerAttempt, [_attempt(timer, row, "asked", reasons, now,
                                                           approval_id)],
                          ("entity_id", "entered_at"))
        else:
            _record(session, timer, [row], "refused", {entity_id: reasons}, now, report)
    if outcome == "asked":
        report.count(timer.type, "asked", [row])
    else:
        report.count(timer.type, "refused", [row], {entity_id: reasons})


def _record(session: Session, timer: Timer, rows: Sequence[EntityRow], outcome: str,
            reasons: dict[int, list[str]], now: datetime, report: TimersReport) -> None:
    """One TimerAttempt and one TimerFailed event per refused entity (set-based)."""
    if not rows:
        return
    insert_ignore(session, TimerAttempt, [_attempt(timer, r, outcome, reasons[r.id], now)
                                          for r in rows], ("entity_id", "entered_at"))
    insert_outbox(session, TIMER_FAILED, [(r.id, failed_event(timer, r, reasons[r.id], report))
                                          for r in rows], now)


def _attempt(timer: Timer, row: EntityRow, outcome: str, reasons: list[str], now: datetime,
             approval_id: int | None = None) -> dict[str, Any]:
    return {"entity_id": row.id, "entity_type": timer.type, "state": timer.state.name,
            "action": timer.move.name, "entered_at": row.status_changed_at, "outcome": outcome,
            "reasons": reasons, "approval_id": approval_id, "created_at": now}


def failed_event(timer: Timer, row: EntityRow, reasons: list[str],
                 report: TimersReport) -> dict[str, Any]:
    what = f"{timer.wf.label} {row.name!r}"
    return {"event": TIMER_FAILED, "entity_id": row.id, "type": timer.type, "name": row.name,
            "state": timer.state.name, "action": timer.move.name, "to": timer.move.target,
            "reasons": reasons, "actor": TIMER.name, "source": "timer",
            "correlation_id": report.correlation_id,
            "notification": f"The timer could not {label(timer.move.name)} {what} "
                            f"({timer.timeout.describe()}): {' '.join(reasons)}"}


# -- reading the record -------------------------------------------------------------------

def refused_for(session: Session, entity_id: int, limit: int = 5) -> list[TimerAttempt]:
    """This entity's timer attempts that did not move it, newest first."""
    return list(session.scalars(select(TimerAttempt).where(TimerAttempt.entity_id == entity_id)
                                .order_by(TimerAttempt.id.desc()).limit(limit)))


def stuck(session: Session, limit: int = 20) -> list[tuple[TimerAttempt, Entity]]:
    """Refused timers whose entity is still in the state they were refused in (the same
    entry), newest first: the dashboard's "failed timers"."""
    stmt = (select(TimerAttempt, Entity).join(Entity, Entity.id == TimerAttempt.entity_id)
            .where(TimerAttempt.outcome == "refused", Entity.status == TimerAttempt.state,
                   Entity.status_changed_at == TimerAttempt.entered_at)
            .order_by(TimerAttempt.id.desc()).limit(limit))
    return [(a, e) for a, e in session.execute(stmt).all()]

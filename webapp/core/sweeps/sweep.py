"""The grace-period sweep: warn quiet entities, then make them inactive (CONTRACT.md §5).

Per entity type with a ``sweep`` in its workflow, at a moment ``now``, reading the settings
the sweep names (``<type>_grace_period`` and ``<type>_warning_period`` unless it names others;
the workflow declares them, and a type whose settings are missing is not swept but reported in
``SweepReport.problems``):
- quiet past the warning period and not warned in this quiet spell: one ``EntityWarned``
  event, and ``warned_at`` set so the next sweep does not warn again;
- quiet past the grace period (when auto-inactivation is on): the inactive state, through the
  StateManager's plan/apply (source ``sweep``); rules may refuse, refusals are reported and
  tried again next time;
- in the inactive state with activity recorded after it went there (activity that arrived
  without reactivating it, e.g. through an import): back to active, as recording it would have.

Due ids come from the (type, last_activity_at) index; they are re-checked and written in
chunks, each its own transaction, so a crash leaves finished chunks done and the next sweep
does the rest (idempotent). A dry run and a forecast (a future ``now``) walk the same code and
write nothing. Running for real, alone and on record, is ``sweep_runs.run``.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import SWEEPER
from webapp.core.base.events import ENTITY_WARNED, outbox_table
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import label, plural
from webapp.core.changes.statements import statements_for
from webapp.core.changes.writer import Change, EntityRow, lock_rows
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity

if TYPE_CHECKING:
    from webapp.core.changes.manager import StateManager

#: Entities per write transaction. Each commit rewrites the index pages it touched, so larger
#: chunks cost less per entity (1,000,000 entities, 150,000 changes: 18.8 s CPU at 2,000,
#: 13.7 s at 10,000; bench/sweep.py); 5,000 keeps SQLite's write lock to well under a
#: second per chunk, so requests that write meanwhile wait little.
CHUNK = 5000
#: Items (and refusals) listed in a report; the counts are always complete.
ITEMS_MAX = 1000
ACTIONS = {"warn": "warned", "inactivate": "inactivated", "reactivate": "reactivated"}
_T = Entity.__table__


class SweepInterrupted(Exception):
    """The guard said stop (the lease was lost, the process is shutting down): chunks done
    so far stay done, the next sweep does the rest."""


@dataclass(frozen=True)
class Policy:
    """One entity type's sweep with this run's setting values."""

    wf: Workflow
    grace: int
    warning: int
    auto_inactivate: bool

    @property
    def type(self) -> str:
        return self.wf.entity_type

    def cutoff(self, now: datetime, days: int) -> datetime:
        return now - timedelta(days=days)


def policies(workflows: dict[str, Workflow], settings: dict[str, Any]) -> list[Policy]:
    """The types the sweep looks after: a sweep in the workflow and its settings in force
    (``unswept`` says which are left out and why)."""
    return [Policy(wf, settings[wf.sweep.grace_setting], settings[wf.sweep.warning_setting],
                   bool(settings.get(wf.sweep.auto_setting, True)))
            for _, wf in sorted(workflows.items())
            if wf.sweep and not _missing(wf, settings)]


def unswept(workflows: dict[str, Workflow], settings: dict[str, Any]) -> dict[str, str]:
    """{type: why} for each type whose workflow has a sweep but whose settings are not in
    force (a workflow stored before its settings were checked): never skipped silently."""
    return {t: f"{label(t).capitalize()} is not swept: its sweep reads "
               f"{' and '.join(map(repr, missing))}, which {'is' if len(missing) == 1 else 'are'} "
               f"not declared; add {'it' if len(missing) == 1 else 'them'} to the workflow's "
               f"\"settings\"."
            for t, wf in sorted(workflows.items())
            if wf.sweep and (missing := _missing(wf, settings))}


def _missing(wf: Workflow, settings: dict[str, Any]) -> list[str]:
    assert wf.sweep is not None
    return [k for k in (wf.sweep.grace_setting, wf.sweep.warning_setting) if k not in settings]


@dataclass
class SweepReport:
    """What a sweep did (or, dry, would do) at ``as_of``."""

    as_of: datetime
    dry_run: bool
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    scanned: int = 0
    warned: int = 0
    inactivated: int = 0
    reactivated: int = 0
    refused: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: {type: {"warn": n, "inactivate": n, "reactivate": n, "refused": n}}
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Why a type with a sweep was left out, one sentence each (see ``unswept``).
    problems: list[str] = field(default_factory=list)
    run_id: int | None = None

    def record(self, action: str, type_: str, rows: Sequence[Any]) -> None:
        """Count ``rows`` (anything with id, name, last_activity_at) under ``action``."""
        self.count(action, type_, len(rows))
        self.list_items(action, type_, rows)

    def list_items(self, action: str, type_: str, rows: Sequence[Any]) -> None:
        """List ``rows`` by name, as far as ITEMS_MAX goes (``count`` counts them)."""
        for row in rows[:max(0, ITEMS_MAX - len(self.items))]:
            self.items.append({"id": row.id, "type": type_, "name": row.name, "action": action,
                               "days_quiet": quiet_days(row.last_activity_at, self.as_of)})

    def count(self, action: str, type_: str, n: int) -> None:
        if n:
            setattr(self, ACTIONS[action], getattr(self, ACTIONS[action]) + n)
            self._bump(type_, action, n)

    def refuse(self, type_: str, entities: Sequence[Entity | EntityRow],
               failures: dict[int, tuple[str, list[str]]]) -> None:
        if not failures:
            return
        self.refused += len(failures)
        self._bump(type_, "refused", len(failures))
        names = {e.id: e.name for e in entities}
        for eid, (_kind, messages) in list(failures.items())[:max(0, ITEMS_MAX - len(self.errors))]:
            self.errors.append({"id": eid, "type": type_, "name": names.get(eid),
                                "messages": messages})

    def _bump(self, type_: str, key: str, n: int) -> None:
        counts = self.by_type.setdefault(type_, {"warn": 0, "inactivate": 0, "reactivate": 0,
                                                 "refused": 0})
        counts[key] += n

    @property
    def changed_anything(self) -> bool:
        return bool(self.warned or self.inactivated or self.reactivated)

    def summary(self) -> str:
        text = (f"{self.warned} warned, {self.inactivated} made inactive, "
                f"{self.reactivated} reactivated")
        text += f", {self.refused} refused" if self.refused else ""
        return text + (f"; {' '.join(self.problems)}" if self.problems else "")

    def to_dict(self) -> dict[str, Any]:
        """The contract's shape (CONTRACT.md §6) plus refusals and counts per type."""
        return {
            "scanned": self.scanned, "warned": self.warned, "inactivated": self.inactivated,
            "reactivated": self.reactivated, "items": self.items, "refused": self.refused,
            "errors": self.errors, "by_type": self.by_type, "problems": self.problems,
            "dry_run": self.dry_run,
            "as_of": self.as_of.isoformat(), "run_id": self.run_id,
            "items_truncated": self.warned + self.inactivated + self.reactivated > len(self.items),
        }


def quiet_days(last_activity_at: datetime, now: datetime) -> int:
    return (now - last_activity_at).days


#: Asked before every chunk that writes: a reason to stop, or None to go on.
Guard = Callable[[], str | None]


def sweep(session: Session, sm: StateManager, now: datetime, *, dry_run: bool = False,
          settings_override: dict[str, Any] | None = None, guard: Guard | None = None,
          report: SweepReport | None = None) -> SweepReport:
    """One pass over every swept type at ``now``; ``dry_run`` writes nothing.

    ``guard`` is asked before every chunk that writes (the lease holder renews there); a
    reason from it stops the sweep with SweepInterrupted. ``report`` collects as it goes, so
    a caller keeps the counts of the chunks done when something fails halfway.
    """
    report = report or SweepReport(now, dry_run)
    settings = {**sm.settings.all(session), **(settings_override or {})}
    workflows = sm.workflows.all(session)
    report.problems = list(unswept(workflows, settings).values())
    try:
        for policy in policies(workflows, settings):
            _sweep_type(session, sm, policy, report, guard)
    finally:
        if dry_run:
            session.rollback()  # end the read transaction; nothing was written
    return report


def forecast(session: Session, sm: StateManager, now: datetime,
             settings_override: dict[str, Any] | None = None, exact: bool = True) -> SweepReport:
    """What a sweep at ``now`` would do with these setting values (nothing is written).

    ``report.by_type`` gives the counts per type ("37 builders would become inactive").
    ``exact=False`` only counts who is due (one COUNT per type and action, no rule checks,
    no items): for previews over very large tables, where ``refused`` then stays 0.
    """
    if exact:
        return sweep(session, sm, now, dry_run=True, settings_override=settings_override)
    report = SweepReport(now, dry_run=True)
    settings = {**sm.settings.all(session), **(settings_override or {})}
    workflows = sm.workflows.all(session)
    report.problems = list(unswept(workflows, settings).values())
    for p in policies(workflows, settings):
        report.scanned += _watched(session, p)
        for action, due, _step in _STEPS:
            conditions = due(p, now)
            if conditions is not None:
                report.count(action, p.type, session.scalar(
                    select(func.count()).select_from(_T).where(*conditions)))
    session.rollback()
    return report


def _sweep_type(session: Session, sm: StateManager, p: Policy, report: SweepReport,
                guard: Guard | None) -> None:
    now = report.as_of
    report.scanned += _watched(session, p)
    for _action, due, step in _STEPS:
        conditions = due(p, now)
        ids = [] if conditions is None else _ids(session, *conditions)
        for chunk in chunked(ids, CHUNK):
            reason = guard() if guard is not None and not report.dry_run else None
            if reason:
                raise SweepInterrupted(reason)
            step(session, sm, p, chunk, report)


def _watched(session: Session, p: Policy) -> int:
    return session.scalar(select(func.count()).select_from(_T).where(
        _T.c.type == p.type, _T.c.status.in_(p.wf.sweep.from_states)))


# -- who is due (reads on the (type, last_activity_at) and (type, status) indexes) ---------
# Each returns the SQL conditions, or None when the settings or workflow rule the action out.

def _of_type(p: Policy, by_id: bool) -> Any:
    """``type = p.type``; ``by_id`` for the re-check of a chunk of ids: written so that no index
    on type can serve it, as SQLite (without statistics) would otherwise range-scan the whole
    due range of the (type, status, last_activity_at) index for every chunk -- quadratic in
    the number due (bench/sweep.py: 6.8 s of a 1,000,000-entity dry run) -- instead of
    looking the chunk's ids up by primary key."""
    return (_T.c.type.concat("") if by_id else _T.c.type) == p.type


def _ids(session: Session, *conditions: Any) -> list[int]:
    return list(session.scalars(select(_T.c.id).where(*conditions).order_by(_T.c.id)).all())


def _inactivation_conditions(p: Policy, now: datetime, by_id: bool = False) -> list[Any] | None:
    if not p.auto_inactivate:
        return None
    return [_of_type(p, by_id), _T.c.last_activity_at <= p.cutoff(now, p.grace),
            _T.c.status.in_(p.wf.sweep.from_states)]


def _warning_conditions(p: Policy, now: datetime, by_id: bool = False) -> list[Any]:
    conditions = [_of_type(p, by_id), _T.c.last_activity_at <= p.cutoff(now, p.warning),
                  _T.c.status.in_(p.wf.sweep.from_states), _T.c.warned_at.is_(None)]
    if p.auto_inactivate:  # those are inactivated instead
        conditions.append(_T.c.last_activity_at > p.cutoff(now, p.grace))
    return conditions


def _reactivation_conditions(p: Policy, now: datetime, by_id: bool = False) -> list[Any] | None:
    if not p.wf.sweep.reactivate_to:
        return None
    # Wrapped so that no planner range-scans the activity index over every recently active
    # entity: the (type, status) index finds the few in the inactive state directly.
    recent = func.coalesce(_T.c.last_activity_at, _T.c.status_changed_at) > p.cutoff(now, p.grace)
    return [_of_type(p, by_id), _T.c.status == p.wf.sweep.inactive_state,
            _T.c.last_activity_at > _T.c.status_changed_at, recent]


# -- one chunk: re-checked inside its transaction, then written (or only counted) ------------

@contextmanager
def _chunk(session: Session, dry_run: bool) -> Iterator[None]:
    with nullcontext() if dry_run else write_transaction(session):
        yield


def _load(session: Session, ids: Sequence[int], lock: bool, conditions: list[Any]) -> list[EntityRow]:
    """The chunk's entities that still qualify (activity may have come in meanwhile), locked
    for writing on PostgreSQL (on SQLite the write transaction already holds the lock).

    Plain rows, not ORM objects: planning and the write path only read their attributes, and
    building ORM instances was a third of a sweep's CPU time (bench/sweep.py)."""
    found = lock_rows(session, ids, lock, conditions)
    return [found[i] for i in ids if i in found]


def _inactivate(session: Session, sm: StateManager, p: Policy, ids: Sequence[int],
                report: SweepReport) -> None:
    now = report.as_of
    with _chunk(session, report.dry_run):
        due = _load(session, ids, not report.dry_run, _inactivation_conditions(p, now, True))
        plan = sm.plan(session, p.wf, due, p.wf.sweep.inactive_state, SWEEPER,
                       f"no activity for {p.grace} days or more", "sweep", now)
        for change in plan.changes:
            change.reason = (f"no activity for {quiet_days(change.entity.last_activity_at, now)} "
                             f"days (grace period {p.grace})")
        report.refuse(p.type, due, plan.failures)
        if not report.dry_run:
            _apply(session, sm, plan.changes, report, "sweep.inactivate",
                   f"made inactive after {p.grace} days without activity")
        report.record("inactivate", p.type, [c.entity for c in plan.changes])


def _reactivate(session: Session, sm: StateManager, p: Policy, ids: Sequence[int],
                report: SweepReport) -> None:
    now = report.as_of
    with _chunk(session, report.dry_run):
        due = _load(session, ids, not report.dry_run, _reactivation_conditions(p, now, True))
        plan = sm.plan(session, p.wf, due, p.wf.sweep.reactivate_to, SWEEPER,
                       "activity recorded after it became inactive", "activity", now)
        report.refuse(p.type, due, plan.failures)
        if not report.dry_run:
            _apply(session, sm, plan.changes, report, "sweep.reactivate",
                   "reactivated: activity was recorded after they became inactive")
        report.record("reactivate", p.type, [c.entity for c in plan.changes])


def _apply(session: Session, sm: StateManager, changes: list[Change], report: SweepReport,
           event_type: str, message: str) -> None:
    """Write through the StateManager; one audit row per chunk (history has every entity)."""
    if not changes:
        return
    now = report.as_of
    sm.apply(session, changes, SWEEPER, now, report.correlation_id, event_type, audit_each=False,
             events=False)  # nothing in-process listens: delivery goes through the outbox
    ids = [c.entity.id for c in changes]
    audit.write(session, [audit.AuditRecord(
        SWEEPER, event_type, changes[0].entity.type, None,
        message=f"{plural(len(ids), changes[0].entity.type)} {message}",
        correlation_id=report.correlation_id, extra={"count": len(ids), "ids": ids[:200]})], now)


_WARN_COLUMNS = (_T.c.id, _T.c.name, _T.c.status, _T.c.last_activity_at, _T.c.parent_id)


def _warn(session: Session, sm: StateManager, p: Policy, ids: Sequence[int], report: SweepReport) -> None:
    """Mark warned_at and raise one EntityWarned each, in two statements per chunk: the payloads
    are built by the database (``statements.insert_warnings``; in Python they were two thirds
    of a sweep's warning cost: bench/sweep.py)."""
    now = report.as_of
    conditions = [_T.c.id.in_(list(ids)), *_warning_conditions(p, now, True)]
    if report.dry_run:
        rows = session.execute(select(*_WARN_COLUMNS).where(*conditions).order_by(_T.c.id)).all()
        report.record("warn", p.type, rows)
        return
    with write_transaction(session):
        marked = _T.update().where(*conditions).values(warned_at=now).returning(_T.c.id)
        warned = sorted(session.connection().execute(marked).scalars().all())
        sql = statements_for(session.connection())
        sql.insert_warnings(warned, _warning_constants(p, report),
                            p.grace if p.auto_inactivate else None,
                            sql.bind(outbox_table().c.created_at)(now))
        room = max(0, ITEMS_MAX - len(report.items))  # the report lists this many by name
        shown = session.connection().execute(
            select(*_WARN_COLUMNS).where(_T.c.id.in_(warned[:room])).order_by(_T.c.id)
        ).all() if room and warned else []
    report.count("warn", p.type, len(warned))
    report.list_items("warn", p.type, shown)


def _warning_constants(p: Policy, report: SweepReport) -> dict[str, Any]:
    """An EntityWarned payload's values shared by every entity of a type in one sweep; the
    database adds the entity's own (statements.WARNED_PAYLOAD, days_quiet, inactive_on)."""
    return {"event": ENTITY_WARNED, "type": p.type, "warning_period": p.warning,
            "grace_period": p.grace, "source": "sweep", "actor": SWEEPER.name,
            "correlation_id": report.correlation_id}


_STEPS = (("inactivate", _inactivation_conditions, _inactivate),
          ("warn", _warning_conditions, _warn),
          ("reactivate", _reactivation_conditions, _reactivate))

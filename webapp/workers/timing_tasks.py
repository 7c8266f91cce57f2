"""The time workers' tick (CONTRACT §8): due timers, due scheduled transitions, SLA alerts.

``run_pass`` is one pass of all three, shared by the background task and
``flask --app wsgi timers run``: the timers under their lease (one process at a time; a busy
lease means another process is running them, so this pass skips them), the schedules each
claimed by whichever process gets there first, and the SLA alerts by
``core/timing/sla_alerts.raise_due`` where that module exists.
"""
from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from webapp.core.base import lease
from webapp.core.base.words import label
from webapp.core.changes.manager import StateManager
from webapp.core.timing import schedules, timers
from webapp.extensions import db

log = logging.getLogger(__name__)

#: Seconds between two passes (a timer or schedule runs at most this late).
TIMERS_SECONDS = 30.0


@dataclass
class PassReport:
    """What one pass did; ``busy`` when another process held the timers' lease."""

    timers: timers.TimersReport | None = None
    schedules: schedules.SchedulesReport | None = None
    #: What ``sla_alerts.raise_due`` answered (None: the module does not exist yet).
    sla_alerts: Any = None
    busy: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.busy:
            out.append("timers: skipped, another process is running them")
        elif self.timers is not None:
            out.append(self.timers.summary())
            out += [f"  {i['outcome']:<8} {i['type']:<14} {i['id']:>8}  {i['name']}"
                    + (f": {' '.join(i['reasons'])}" if i.get("reasons") else "")
                    for i in self.timers.items[:20]]
        if self.schedules is not None:
            out.append(self.schedules.summary())
            out += [f"  {i['status']:<8} schedule {i['id']:>6}  entity {i['entity_id']} -> "
                    f"{i['to']}" + (f": {' '.join(i['reasons'])}" if i.get("reasons") else "")
                    for i in self.schedules.items[:20]]
        if self.sla_alerts is not None:
            out.append(f"SLA alerts: {_describe(self.sla_alerts)}")
        return out + self.notes


def run_pass(session: Session, sm: StateManager, clock: Callable[[], datetime],
             stopping: Callable[[], bool] = lambda: False) -> PassReport:
    report = PassReport()
    try:
        report.timers = timers.run(session, sm, clock, stopping)
    except timers.TimersBusy:
        report.busy = True
    except lease.LeaseLost as lost:  # ours ran out and another process took over: its turn
        report.notes.append(f"timers: stopped, {lost}")
    report.schedules = schedules.run_due(session, sm, clock(), stopping)
    raise_due = _sla_alerts()
    if raise_due is None:
        report.notes.append("SLA alerts: not available in this build")
    else:
        report.sla_alerts = raise_due(session, sm, clock())
    return report


def _sla_alerts() -> Callable[..., Any] | None:
    """``sla_alerts.raise_due``, imported late: that module is another part's, and may not
    exist yet."""
    try:
        module = importlib.import_module("webapp.core.timing.sla_alerts")
    except ModuleNotFoundError:
        return None
    return getattr(module, "raise_due", None)


def _describe(answer: Any) -> str:
    """``{"at_risk": 2, "breached": 1}`` as "2 at risk, 1 breached" (any other answer as is)."""
    if isinstance(answer, dict):
        return ", ".join(f"{n} {label(key)}" for key, n in answer.items()) or "none"
    return str(answer)


def timers_tick(stop: threading.Event) -> None:
    sm = StateManager.get_instance()
    report = run_pass(db.session, sm, sm.clock, stop.is_set)
    t, s = report.timers, report.schedules
    raised = isinstance(report.sla_alerts, dict) and any(report.sla_alerts.values())
    if (t and (t.fired or t.refused or t.asked)) or (s and (s.done or s.failed or s.asked)) \
            or raised:
        log.info("; ".join(line for line in report.lines() if not line.startswith("  ")))

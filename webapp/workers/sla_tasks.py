"""The SLA alerts' tick (CONTRACT §8): raise the SlaAtRisk / SlaBreached events that are due.

Each alert is claimed once in the database (core/timing/sla_alerts.py), so this may run in
every process at once; no lease is needed.
"""
from __future__ import annotations

import logging
import threading

from webapp.core.changes.manager import StateManager
from webapp.core.timing import sla_alerts
from webapp.extensions import db

log = logging.getLogger(__name__)

#: Seconds between two ticks (an alert is raised at most this late).
SLA_ALERTS_SECONDS = 30.0


def sla_alerts_tick(_stop: threading.Event) -> None:
    sm = StateManager.get_instance()
    raised = sla_alerts.raise_due(db.session, sm, sm.clock())
    if any(raised.values()):
        log.info("SLA alerts raised: %s at risk, %s breached", raised["at_risk"],
                 raised["breached"])

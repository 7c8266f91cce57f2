"""The reports' worker tick (CONTRACT §8): fold new status history into the roll-ups.

Every ``REPORTS_SECONDS`` one process (the ``reports-fold`` lease) folds the history rows
written since the last fold, chunk by chunk (core/reports/rollup.py); the first tick after
the upgrade to 0017 folds the whole existing history that way (the backfill), stopping early
when the runner stops and going on from the watermark at the next tick. Reports stay exact
meanwhile: they read what is not folded yet from the history itself.
"""
from __future__ import annotations

import logging
import threading

from webapp.core.base import lease
from webapp.core.changes.manager import StateManager
from webapp.core.reports import rollup
from webapp.extensions import db

log = logging.getLogger(__name__)

#: Seconds between two folds: the unfolded tail a report reads stays this short.
REPORTS_SECONDS = 15.0
_HOLDER = lease.new_holder("reports")


def reports_tick(stop: threading.Event) -> None:
    """Fold what the history gained since the last tick (nothing while another process
    holds the lease)."""
    folded = rollup.fold(db.session, StateManager.get_instance().clock, _HOLDER,
                         stopping=stop.is_set)
    if folded:
        log.info("reports: folded %s history rows", folded)

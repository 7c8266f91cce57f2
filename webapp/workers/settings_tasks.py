"""The workers' task for scheduled setting changes: apply the due ones (each exactly once,
whichever process claims it first; core/settings/scheduling.py)."""
from __future__ import annotations

import logging
import threading

from webapp.core.changes.manager import StateManager
from webapp.core.settings import scheduling
from webapp.extensions import db

log = logging.getLogger(__name__)

#: Seconds between two looks for due scheduled setting changes.
SCHEDULED_SETTINGS_SECONDS = 15.0


def scheduled_settings_tick(_stop: threading.Event) -> None:
    sm = StateManager.get_instance()
    for row in scheduling.apply_due(db.session, sm.settings, sm.clock()):
        if row.status == "failed":
            log.warning("scheduled setting change %s failed: %s", row.id, row.error)
        else:
            log.info("scheduled setting change %s applied: %s", row.id,
                     scheduling.describe_values(row.values))

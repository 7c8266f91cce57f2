"""What the background threads do on each tick (inside an app context).

- sweep: every ``SWEEP_CHECK_SECONDS`` (config; env ``STATEKEEPER_SWEEP_CHECK_SECONDS``) ask
  whether ``sweep_interval_minutes`` have passed since the last run; if so, run one under the
  sweep lease (renewed before every chunk, released at the end; another process holding it
  means it is sweeping, so this one skips);
- outbox: deliver every due outbox event (subscribers, webhook deliveries, notifications);
- webhooks: send the webhook deliveries that are due, with retries and backoff;
- retention: hourly, archive audit entries past ``audit_retention_days`` and log the audit
  chain's head (under a lease);
- approvals: expire the pending approval requests whose ``approval_expiry_hours`` ran out
  (each once, whichever process gets there first);
- bulk-jobs: resume the background bulk jobs whose process died (their lease ran out) or that
  no process started, on this process's job runner (each job's own lease keeps it to one).
  This task is the only recovery: opening the bulk page starts nothing.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app

from webapp.core.approvals import deciding as approvals
from webapp.core.audit import chain as audit
from webapp.core.audit import retention
from webapp.core.base import lease
from webapp.core.changes.manager import StateManager
from webapp.core.events import delivery, webhooks
from webapp.core.sweeps import runs as sweep_runs
from webapp.core.sweeps.sweep import SweepInterrupted
from webapp.extensions import db
from webapp.workers.bulk_runner import runner as bulk_runner

log = logging.getLogger(__name__)

OUTBOX_SECONDS = 1.0
WEBHOOK_SECONDS = 2.0
RETENTION_SECONDS = 3600.0
#: Seconds between two looks for abandoned bulk jobs (a job's lease lasts two minutes).
BULK_RECOVER_SECONDS = 30.0
APPROVALS_SECONDS = 60.0
_RETENTION_HOLDER = lease.new_holder("retention")


def sweep_check_seconds(app: Flask) -> float:
    """Seconds between two "is a sweep due?" checks (the app's config)."""
    return float(app.config["SWEEP_CHECK_SECONDS"])


def clock() -> Callable[[], datetime]:
    """The app's clock: its StateManager's (tests inject one as CLOCK)."""
    return StateManager.get_instance().clock


def sweep_tick(stop: threading.Event) -> None:
    sm = StateManager.get_instance()
    if not sweep_runs.is_due(db.session, sm, clock()()):
        return
    try:
        report = sweep_runs.run(db.session, sm, clock(), only_if_due=True, stopping=stop.is_set)
    except sweep_runs.SweepBusy:
        return  # another process is sweeping
    except SweepInterrupted as stopped:
        log.info("sweep stopped before finishing: %s", stopped)
        return
    if report is not None:
        log.info("sweep %s: %s", report.run_id, report.summary())


def outbox_tick(_stop: threading.Event) -> None:
    delivery.deliver_all(db.session, StateManager.get_instance(), clock())


def webhook_tick(stop: threading.Event) -> None:
    settings = StateManager.get_instance().settings.all(db.session)
    allow_private = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    while webhooks.send_due(db.session, clock(), settings,
                            allow_private=allow_private) == webhooks.SEND_BATCH:
        if stop.is_set():
            return


def retention_tick(_stop: threading.Event) -> None:
    """Archive expired audit entries; the lease keeps two processes from doing it at once."""
    now, ttl = clock()(), timedelta(minutes=30)
    if not lease.acquire(db.session, "audit-retention", _RETENTION_HOLDER, now, ttl):
        return
    try:
        days = StateManager.get_instance().settings.get(db.session, "audit_retention_days")
        result = retention.archive_expired(db.session, Path(current_app.instance_path), days, now)
        if result is not None:
            log.info("archived %s audit entries up to #%s", result.archived, result.up_to_id)
        _log_head()
    finally:
        lease.release(db.session, "audit-retention", _RETENTION_HOLDER)


def _log_head() -> None:
    """Write the audit chain's head to the log, which goes somewhere the database's writers
    cannot reach (docs/operations.md): ``flask audit verify --anchor`` checks these lines."""
    found = audit.head(db.session)
    db.session.rollback()
    if found is not None:
        log.info("audit head #%s %s", found.id, found.hash,
                 extra={"audit_head_id": found.id, "audit_head_hash": found.hash})


def bulk_jobs_tick(_stop: threading.Event) -> None:
    """Hand abandoned bulk jobs to this process's job runner (its thread starts if needed)."""
    bulk_runner().recover()


def approvals_tick(_stop: threading.Event) -> None:
    """Expire the approval requests nobody decided in time."""
    n = approvals.expire_due(db.session, clock()())
    if n:
        log.info("expired %s approval requests", n)

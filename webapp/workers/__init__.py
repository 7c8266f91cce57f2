"""Background threads: started only from wsgi.py when STATEKEEPER_BACKGROUND=1.

One runner per process: the sweep (under a database lease, so one process at a time sweeps),
outbox delivery, webhook sending, audit retention, the recovery of abandoned bulk jobs and the
expiry of approval requests. It
stops at interpreter exit (atexit, which also runs when a gunicorn worker exits) or when
``stop_background()`` is called.
"""
from __future__ import annotations

import atexit
import threading

from flask import Flask

from webapp.workers import reports_tasks, settings_tasks, tasks, timing_tasks
from webapp.workers.runner import PeriodicRunner, Task

_runner: PeriodicRunner | None = None
_lock = threading.Lock()
_atexit_registered = False


def build_runner(app: Flask) -> PeriodicRunner:
    return PeriodicRunner(app, [
        Task("sweep", tasks.sweep_check_seconds(app), tasks.sweep_tick),
        Task("outbox", tasks.OUTBOX_SECONDS, tasks.outbox_tick),
        Task("webhooks", tasks.WEBHOOK_SECONDS, tasks.webhook_tick),
        Task("retention", tasks.RETENTION_SECONDS, tasks.retention_tick),
        Task("bulk-jobs", tasks.BULK_RECOVER_SECONDS, tasks.bulk_jobs_tick),
        Task("approvals", tasks.APPROVALS_SECONDS, tasks.approvals_tick),
        Task("scheduled-settings", settings_tasks.SCHEDULED_SETTINGS_SECONDS,
             settings_tasks.scheduled_settings_tick),
        Task("timers", timing_tasks.TIMERS_SECONDS, timing_tasks.timers_tick),
        Task("reports", reports_tasks.REPORTS_SECONDS, reports_tasks.reports_tick),
    ])


def start_background(app: Flask) -> PeriodicRunner:
    """Start the sweep and event-delivery workers for this process (once)."""
    global _runner, _atexit_registered
    with _lock:
        if _runner is None or not _runner.running:
            _runner = build_runner(app)
            _runner.start()
        if not _atexit_registered:
            atexit.register(stop_background)
            _atexit_registered = True
        return _runner


def stop_background(timeout: float = 10.0) -> None:
    """Stop the workers and wait for the tick in progress (safe to call twice)."""
    global _runner
    with _lock:
        runner, _runner = _runner, None
    if runner is not None:
        runner.stop(timeout)

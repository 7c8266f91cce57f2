"""The in-process runner of background bulk jobs: one owned, stoppable worker thread per app.

It starts with the first job submitted in this process; each job runs in an app context and
the thread's database session is removed afterwards. Jobs left behind by a process that died
(their lease ran out) or queued by one that died before starting them are picked up again by
the background workers' ``bulk-jobs`` task only (``tasks.bulk_jobs_tick``, every
``BULK_RECOVER_SECONDS``): viewing a page never starts a thread. A job another process took
over (this one's lease ran out) stops here with ``LeaseLost``, logged, not a crash.
"""
from __future__ import annotations

import logging
import queue
import threading

from flask import Flask, current_app

from webapp.core.base import lease
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.changes.manager import StateManager
from webapp.extensions import db

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.holder = lease.new_holder("bulk-jobs")
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, cid: str) -> None:
        self._start()
        self._queue.put(cid)

    def recover(self) -> None:
        """Queue the jobs whose process is gone (this one resumes them where they stopped).

        The background workers' ``bulk-jobs`` task calls this; it starts the runner's thread
        when there is something to resume, so no request handler should.
        """
        sm = StateManager.get_instance()
        for cid in bulk_jobs.orphans(db.session, sm.clock()):
            self.submit(cid)

    def wait_idle(self, timeout: float = 30) -> bool:
        """Block until every submitted job has been run (tests; False on timeout)."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(
                lambda: self._queue.unfinished_tasks == 0, timeout)

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="bulk-jobs", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while (cid := self._queue.get()) is not None:
            try:
                self._run(cid)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _run(self, cid: str) -> None:
        with self.app.app_context():
            try:
                config = self.app.config
                bulk_jobs.run_job(db.session, StateManager.get_instance(), cid, self.holder,
                                  config["BULK_JOB_CHUNK"])
            except lease.LeaseLost as lost:  # the job goes on in the process that took it
                log.warning("bulk job %s stopped here: %s", cid, lost)
            except Exception:  # recorded on the job (state failed); the runner carries on
                log.exception("bulk job %s failed", cid)
            finally:
                db.session.remove()


def runner() -> JobRunner:
    """This app's runner (made on first use; its thread starts with the first job)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("bulk_jobs")
    if found is None:
        found = app.extensions.setdefault("bulk_jobs", JobRunner(app))
    return found

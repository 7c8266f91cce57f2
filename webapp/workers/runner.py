"""A periodic runner: owned, stoppable threads, each tick in an app context.

Each task runs on its own daemon thread: ``tick()`` inside ``app.app_context()``, the scoped
database session removed afterwards (so no connection or stale identity map outlives a tick),
then a wait on the stop event. ``stop()`` sets the event and joins the threads, so a tick in
progress finishes and no new one starts. Daemon threads, because the interpreter joins
non-daemon threads *before* running atexit hooks: the hook that stops them would never run.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from webapp.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    name: str
    #: Seconds between the end of one tick and the start of the next.
    interval: float
    #: Called with the runner's stop event (long ticks check it to end early).
    tick: Callable[[threading.Event], object]


class PeriodicRunner:
    def __init__(self, app: Flask, tasks: list[Task]) -> None:
        self.app, self.tasks = app, tasks
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        for task in self.tasks:
            thread = threading.Thread(target=self._loop, args=(task,), daemon=True,
                                      name=f"statekeeper-{task.name}")
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every task to stop and wait (``timeout`` in all: gunicorn's graceful timeout
        is 20 s) for the ticks in progress to finish."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def _loop(self, task: Task) -> None:
        while not self._stop.is_set():
            self.run_once(task)
            self._stop.wait(task.interval)

    def run_once(self, task: Task) -> None:
        """One tick in a fresh app context; a failing tick is logged, never fatal."""
        with self.app.app_context():
            try:
                task.tick(self._stop)
            except Exception:
                log.exception("background task %s failed", task.name)
            finally:
                db.session.remove()

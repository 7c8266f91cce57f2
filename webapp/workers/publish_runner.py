"""Publishing a workflow with many stranded entities on a thread of its own, so the browser can
show a progress bar while they move (issue 18).

The move is one transaction (all or nothing), so no other process can see how far it got:
the progress lives in this process, and a poll that reaches another worker process learns
only "running" until the new version is committed (then "done", from the version's row).
Each run is one owned thread, started here and nowhere else; ``wait`` joins it (tests).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select

from webapp.core.base.actor import Actor
from webapp.core.base.errors import StatekeeperError
from webapp.core.changes.manager import StateManager
from webapp.core.publishing import publish
from webapp.extensions import db
from webapp.models import WorkflowVersion

log = logging.getLogger(__name__)


@dataclass
class Run:
    entity_type: str
    total: int
    done: int = 0
    state: str = "running"  # running | done | failed
    version: int | None = None
    messages: list[str] = field(default_factory=list)
    thread: threading.Thread | None = field(default=None, repr=False)


_RUNS: dict[str, Run] = {}
_LOCK = threading.Lock()


def start(app: Flask, actor: Actor, entity_type: str, definition: dict[str, Any],
          mapping: dict[str, str], comment: Any, cid: str, total: int) -> Run:
    run = Run(entity_type, total)
    run.thread = threading.Thread(target=_publish, name=f"publish-{cid[:8]}", daemon=True,
                                  args=(app, run, actor, definition, mapping, comment, cid))
    with _LOCK:
        _RUNS[cid] = run
    run.thread.start()
    return run


def _publish(app: Flask, run: Run, actor: Actor, definition: dict[str, Any],
             mapping: dict[str, str], comment: Any, cid: str) -> None:
    def progress(done: int, _total: int) -> None:
        run.done = done

    with app.app_context():
        try:
            published = publish.publish(db.session, StateManager.get_instance(), actor,
                                        run.entity_type, definition, mapping, comment,
                                        correlation_id=cid, discard_draft=True,
                                        progress=progress)
            run.version, run.done, run.state = published.version, run.total, "done"
        except StatekeeperError as err:
            run.messages, run.state = [err.message, *err.extra.get("messages", [])], "failed"
        except Exception:  # the transaction rolled back: nothing was published
            log.exception("publishing %s failed", run.entity_type)
            run.messages, run.state = ["An unexpected error stopped it."], "failed"
        finally:
            db.session.remove()


def status(cid: str) -> Run | None:
    """The run of ``cid`` as this process knows it, or (another process's) from the database:
    done once its version is committed, else None."""
    with _LOCK:
        run = _RUNS.get(cid)
    if run is not None:
        return run
    version = db.session.scalar(select(WorkflowVersion).where(
        WorkflowVersion.correlation_id == cid))
    if version is None:
        return None
    return Run(version.entity_type, 0, state="done", version=version.version)


def wait(cid: str, timeout: float = 60) -> bool:
    """Join the run's thread (tests); False when it is still going after ``timeout``."""
    with _LOCK:
        run = _RUNS.get(cid)
    if run is None or run.thread is None:
        return True
    run.thread.join(timeout)
    return not run.thread.is_alive()

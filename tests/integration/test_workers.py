"""The background workers as they run in production: real threads, real processes, kill -9.

These wait for real threads and processes (polling with short sleeps); the logic under test is
time-independent (the sweep takes its clock from the app's CLOCK, as elsewhere).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import BASE_DIR
from tests.factories import Receiver, make_audit_entries, make_receiver, make_subscription
from tests.helpers import Clock
from webapp import workers
from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.events import delivery, notifications, webhooks
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import Entity, OutboxEvent, SweepRun, WebhookDelivery
from webapp.models.base import utcnow
from webapp.workers import tasks
from webapp.workers.runner import PeriodicRunner, Task

SEEDER = Actor("seeder", "admin")


@pytest.fixture(autouse=True)
def fresh_manager(clock: Clock) -> Iterator[None]:
    StateManager.reset_instance()
    StateManager.get_instance().clock = clock
    yield
    workers.stop_background()
    StateManager.reset_instance()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = make_receiver()
    yield server
    server.close()


def wait_for(check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def install(app) -> StateManager:
    sm = StateManager.get_instance()
    with app.app_context(), write_transaction(db.session):
        packs.install_packs(db.session, sm.workflows, SEEDER, sm.clock())
    return sm


def test_the_background_workers_sweep_deliver_and_stop_cleanly(app, clock, receiver,
                                                               monkeypatch):
    monkeypatch.setattr(tasks, "OUTBOX_SECONDS", 0.05)
    monkeypatch.setattr(tasks, "WEBHOOK_SECONDS", 0.05)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver listens on loopback
    sm = install(app)
    with app.app_context():
        make_subscription(db.session, url=receiver.url, event_types=["SweepCompleted"])
        rep = sm.create_entity(db.session, SEEDER, type="sales_rep", name="Ana Silva",
                               last_activity_at=clock() - timedelta(days=70)).id

    runner = workers.start_background(app)

    def swept_and_told() -> bool:
        with app.app_context():
            done = db.session.scalar(select(func.count()).select_from(SweepRun)
                                     .where(SweepRun.finished_at.is_not(None)))
            return done and notifications.feed(db.session) and receiver.requests
    wait_for(swept_and_told)
    workers.stop_background()

    assert not runner.running
    assert not [t for t in threading.enumerate() if t.name.startswith("statekeeper-")]
    with app.app_context():
        assert db.session.get(Entity, rep).status == "inactive"
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)
                                 .where(OutboxEvent.state != "delivered")) == 0
    assert receiver.requests[0][0]["X-Statekeeper-Event"] == "SweepCompleted"


def test_the_background_workers_run_a_bulk_job_whose_process_died_before_starting_it(
        app, monkeypatch):
    from webapp.core.bulk import jobs as bulk_jobs
    from webapp.core.bulk.operations import BulkRequest

    monkeypatch.setattr(tasks, "BULK_RECOVER_SECONDS", 0.05)
    sm = install(app)
    with app.app_context():
        ids = tuple(sm.create_entity(db.session, SEEDER, type="property", name=f"Lot {i}").id
                    for i in range(5))
        # Queued by a process that died before its runner took the job: nobody holds it.
        bulk_jobs.queue(db.session, sm, SEEDER, BulkRequest(
            "transition", ids, target_state="pending"), "orphaned-job")

    workers.start_background(app)

    def finished() -> bool:
        with app.app_context():
            return bulk_jobs.get(db.session, "orphaned-job").state == "done"
    wait_for(finished)
    workers.stop_background()
    app.extensions["bulk_jobs"].stop()
    with app.app_context():
        assert {db.session.get(Entity, i).status for i in ids} == {"pending"}


def test_a_failing_tick_is_logged_and_the_runner_keeps_going(app, caplog):
    ticks: list[str] = []

    def broken(_stop: threading.Event) -> None:
        ticks.append("broken")
        raise RuntimeError("boom")

    runner = PeriodicRunner(app, [Task("broken", 0.01, broken),
                                  Task("fine", 0.01, lambda _stop: ticks.append("fine"))])
    runner.start()
    wait_for(lambda: ticks.count("broken") >= 3 and ticks.count("fine") >= 3)
    runner.stop()

    assert not runner.running
    assert "background task broken failed" in caplog.text


def test_stopping_waits_for_the_tick_in_progress(app):
    finished = threading.Event()

    def slow(stop: threading.Event) -> None:
        stop.wait(5)  # a long tick that watches the stop event, as the sweep does
        finished.set()

    runner = PeriodicRunner(app, [Task("slow", 60, slow)])
    runner.start()
    time.sleep(0.1)
    started = time.monotonic()
    runner.stop()

    assert finished.is_set() and not runner.running
    assert time.monotonic() - started < 2


# ------------------------------------------------------------------ kill -9 and a restart

_DELIVERER = textwrap.dedent("""
    import sys, time
    from config import TestConfig
    from webapp import create_app
    from webapp.core.events import delivery
    from webapp.core.changes.manager import StateManager
    from webapp.workers import start_background

    url, log = sys.argv[1], sys.argv[2]
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)

    def slow_subscriber(event):
        with open(log, "a") as out:
            out.write(event["idempotency_key"] + "\\n")
        time.sleep(0.03)

    app.extensions["state_manager"].on_delivery("*", slow_subscriber)
    start_background(app)
    time.sleep(600)
""")


def _events(app, count: int, sm: StateManager) -> set[str]:
    with app.app_context():
        for i in range(count):
            sm.create_entity(db.session, SEEDER, type="ticket", name=f"Ticket {i}",
                             data={"priority": "LOW"})
        return set(db.session.scalars(select(OutboxEvent.idempotency_key)))


def test_a_deliverer_killed_mid_batch_loses_nothing_and_a_restart_finishes(
        app, clock, receiver, tmp_path: Path):
    sm = install(app)
    with app.app_context():
        make_subscription(db.session, url=receiver.url, event_types=["EntityCreated"])
    keys = _events(app, 40, sm)
    log = tmp_path / "subscriber.log"
    log.touch()
    child = subprocess.Popen([sys.executable, "-c", _DELIVERER, app.config["SQLALCHEMY_DATABASE_URI"],
                              str(log)], cwd=BASE_DIR, env={**os.environ, "PYTHONPATH": str(BASE_DIR)})
    try:
        wait_for(lambda: len(log.read_text().split()) >= 10, timeout=60)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    before_restart = log.read_text().split()
    assert len(set(before_restart)) < len(keys), "the child should have died mid-batch"

    # The restart: another process (here, this one) delivers once the claim has run out.
    after_restart: list[str] = []
    sm.on_delivery("*", lambda e: after_restart.append(e["idempotency_key"]))
    clock.now = utcnow() + delivery.CLAIM_FOR + timedelta(seconds=1)
    with app.app_context():
        delivery.deliver_all(db.session, sm, clock)
        while webhooks.send_due(db.session, clock, sm.settings.all(db.session),
                                allow_private=True):
            pass
        undelivered = db.session.scalar(select(func.count()).select_from(OutboxEvent)
                                        .where(OutboxEvent.state != "delivered"))
        per_event = db.session.execute(select(WebhookDelivery.event_id, WebhookDelivery.state)).all()

    assert undelivered == 0
    assert set(before_restart) | set(after_restart) == keys  # every event reached the subscriber
    assert len(per_event) == len(keys) and {state for _, state in per_event} == {"delivered"}
    received = [headers["X-Statekeeper-Idempotency-Key"] for headers, _ in receiver.requests]
    assert set(received) == keys  # once per event after dropping repeats by idempotency key


def test_the_hourly_retention_tick_logs_the_audit_head_for_safekeeping(app, clock, caplog):
    with app.app_context():
        make_audit_entries(db.session, 3, clock())
        head = audit.head(db.session)
        with caplog.at_level("INFO", logger="webapp.workers.tasks"):
            tasks.retention_tick(threading.Event())

    logged = [r for r in caplog.records if getattr(r, "audit_head_id", None) is not None]
    assert [(r.audit_head_id, r.audit_head_hash) for r in logged] == [(head.id, head.hash)]


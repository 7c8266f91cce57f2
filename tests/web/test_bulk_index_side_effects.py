"""Opening the bulk page only shows: it resumes no job and starts no thread (issue 13).

Abandoned jobs are the background workers' to resume (tests/integration/test_workers.py);
a page view in a web process must not start the job runner's thread as a side effect.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.factories import PASSWORD, make_realestate, make_user
from tests.helpers import login
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db

SEEDER = Actor("seeder", "admin")


@pytest.fixture
def sm(app) -> Iterator[StateManager]:
    """The app's manager with the built-in packs installed."""
    with app.app_context():
        manager = StateManager.get_instance()
        with write_transaction(db.session):
            packs.install_packs(db.session, manager.workflows, SEEDER, manager.clock())
    yield manager
    runner = app.extensions.get("bulk_jobs")
    if runner:  # made by the code under test (before the fix): stop its thread
        runner.stop()


@pytest.fixture
def orphaned_job(app, sm) -> str:
    """A job queued by a process that died before its runner took it: nobody holds it."""
    with app.app_context():
        estate = make_realestate(sm, db.session, SEEDER, properties=3, reps=0)
        ids = tuple(p.id for p in estate.properties)
        bulk_jobs.queue(db.session, sm, SEEDER, BulkRequest(
            "transition", ids, target_state="pending"), "orphaned-job")
        assert bulk_jobs.orphans(db.session, sm.clock()) == ["orphaned-job"]
    return "orphaned-job"


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before``; the rate limiter's in-memory storage (tests run
    without Redis) expires its counters on short-lived Timer threads, which do not count."""
    return [t for t in threading.enumerate()
            if t not in before and not isinstance(t, threading.Timer)]


def test_opening_the_bulk_page_with_an_orphaned_job_starts_no_thread(app, orphaned_job):
    with app.app_context():
        name = make_user(db.session, role="support").username
    browser = app.test_client()
    assert login(browser, name, PASSWORD).status_code == 302
    before = set(threading.enumerate())

    page = browser.get("/bulk/")

    assert page.status_code == 200 and "queued" in page.text
    assert _new_threads(before) == []
    assert "bulk_jobs" not in app.extensions, "the page made a job runner"
    with app.app_context():
        assert bulk_jobs.get(db.session, orphaned_job).state == "queued"

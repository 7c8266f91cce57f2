"""A bulk change in a real Chromium: preview -> run (background job) -> progress -> result -> undo.

Screenshots land in test-artifacts/ for a human to look at.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import insert

from tests.factories import PASSWORD, make_user
from tests.live_server import ThreadedServer
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes import counts
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import Entity, StatusChange

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SEEDER = Actor("seeder", "admin")
N = 60


@pytest.fixture
def gate():
    """Holds the background job in its third chunk until the test has seen the progress bar."""
    return threading.Event()


@pytest.fixture
def server(make_app, clock, gate):
    app = make_app(BULK_JOB_THRESHOLD=30, BULK_JOB_CHUNK=10)
    with app.app_context():
        sm = StateManager.get_instance()
        with write_transaction(db.session):
            packs.install_packs(db.session, sm.workflows, SEEDER, clock())
        _seed(clock())
        make_user(db.session, role="support", username="sam")
    held = {"done": False}

    def hold_third_chunk(entity, _target, _ctx):
        if threading.current_thread().name == "bulk-jobs" and entity.id == 21 and not held["done"]:
            held["done"] = True
            gate.wait(30)

    sm.register_validator("property", hold_third_chunk)
    with ThreadedServer(app) as running:
        yield running
    gate.set()
    if app.extensions.get("bulk_jobs"):
        app.extensions["bulk_jobs"].stop()
    StateManager.reset_instance()


def _seed(now) -> None:
    rows = [{"id": i, "type": "property", "name": f"{i} Maple Lane", "status": "available",
             "data": {}, "last_activity_at": now, "status_changed_at": now, "created_at": now,
             "updated_at": now} for i in range(1, N + 1)]
    db.session.execute(insert(Entity), rows)
    counts.added(db.session, rows)
    db.session.execute(insert(StatusChange), [
        {"entity_id": i, "old_status": None, "new_status": "available", "action": "create",
         "actor": "seed", "source": "import", "correlation_id": f"seed-{i}", "meta": {},
         "created_at": now} for i in range(1, N + 1)])
    db.session.commit()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    yield page
    context.close()


def test_preview_run_progress_result_and_undo(page, server, gate):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")

    page.goto(server.url + "/bulk/new?all_matching=1&type=property&status=available")
    assert page.get_by_label("Assignee").is_hidden()  # only the chosen action's fields show
    page.get_by_label("New status").select_option("off_market")
    page.get_by_label("Comment").fill("Season over")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".bulk-preview")
    preview.get_by_text("would change").wait_for()
    assert "60" in preview.locator(".bulk-totals .good").inner_text()
    page.screenshot(path=ARTIFACTS / "bulk-preview.png", full_page=True)

    page.get_by_role("button", name="Start background job for 60 entities").click()
    progress = page.locator("#bulk-progress")
    progress.get_by_text("20 of 60 processed").wait_for(timeout=15_000)
    page.screenshot(path=ARTIFACTS / "bulk-progress.png", full_page=True)
    gate.set()

    page.get_by_role("heading", name="Result").wait_for(timeout=15_000)
    assert "60" in page.locator(".bulk-totals .good").inner_text()
    page.screenshot(path=ARTIFACTS / "bulk-result.png", full_page=True)

    page.get_by_role("link", name="Preview undo…").click()
    page.get_by_text("would be put back").wait_for()
    page.screenshot(path=ARTIFACTS / "bulk-undo-preview.png", full_page=True)
    page.get_by_role("button", name="Undo 60 changes").click()
    page.get_by_role("heading", name="Bulk undo").wait_for(timeout=15_000)
    page.get_by_role("heading", name="Result").wait_for(timeout=15_000)
    assert "60" in page.locator(".bulk-totals .good").inner_text()
    page.screenshot(path=ARTIFACTS / "bulk-undone.png", full_page=True)
    assert errors == []

"""The bulk pages tell the truth (issue 19): the preview shows the bulk limit and offers no
Run past it, Run keeps the form, a job whose process stopped says so, and an undo the workflow
refuses gives the real reason and offers admins a force."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.factories import PASSWORD, make_realestate, make_user
from tests.helpers import csrf_token, login
from tests.web.test_bulk_pages import HTMX, SEEDER, _form, _preview, _statuses
from webapp.core.base import lease
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db

STALLED = "waiting to resume (its process stopped)"


@pytest.fixture
def app(make_app):
    return make_app(BULK_JOB_THRESHOLD=30, BULK_JOB_CHUNK=10)


@pytest.fixture(autouse=True)
def sm(app, clock) -> Iterator[StateManager]:
    StateManager.reset_instance()
    manager = StateManager.get_instance()
    manager.clock = clock
    with app.app_context(), write_transaction(db.session):
        packs.install_packs(db.session, manager.workflows, SEEDER, clock())
    yield manager
    StateManager.reset_instance()


@pytest.fixture
def support(app):
    with app.app_context():
        name = make_user(db.session, role="support").username
    browser = app.test_client()
    assert login(browser, name, PASSWORD).status_code == 302
    return browser


@pytest.fixture
def properties(app, sm) -> list[int]:
    with app.app_context():
        return [p.id for p in make_realestate(sm, db.session, SEEDER, properties=5, reps=0).properties]


def _cap(app, sm, n):
    """The bulk limit set through the app's own manager (its settings cache then knows)."""
    with app.app_context():
        store = StateManager.get_instance().settings
        with write_transaction(db.session):
            store.apply(db.session, {"property_bulk_operation_max": n}, "admin", sm.clock())
        store.invalidate()


def test_the_preview_says_the_bulk_limit_and_offers_no_run(app, sm, support, properties):
    _cap(app, sm, 3)

    page = _preview(support, properties)

    assert "at most 3 may be changed at once (setting property_bulk_operation_max)" in page.text
    assert 'action="/bulk/run"' not in page.text


def test_a_run_past_the_bulk_limit_shows_the_form_again_with_why(app, sm, support, properties):
    preview = _preview(support, properties)
    _cap(app, sm, 3)  # lowered between the preview and Run

    page = support.post("/bulk/run", data=_form(preview.text, csrf_token=csrf_token(preview.text)))

    assert page.status_code == 400
    assert "at most 3 may be changed at once" in page.text and 'name="action"' in page.text
    assert _statuses(app, properties) == ["available"] * 5


def test_a_job_whose_process_stopped_says_it_waits_to_resume(app, sm, support, properties):
    cid = str(uuid.uuid4())
    with app.app_context():
        bulk_jobs.queue(db.session, sm, SEEDER, BulkRequest(
            "transition", tuple(properties), target_state="pending"), cid)
        lease.acquire(db.session, f"bulk:{cid}", "killed-worker", sm.clock(), bulk_jobs.LEASE_TTL)
        with write_transaction(db.session):
            bulk_jobs.get(db.session, cid).state = "running"
    assert STALLED not in support.get(f"/bulk/{cid}/progress", headers=HTMX).text

    sm.clock.advance(seconds=31)  # killed: no chunk renews its lease any more

    assert STALLED.capitalize() in support.get(f"/bulk/{cid}/progress", headers=HTMX).text
    assert STALLED.capitalize() in support.get(f"/bulk/{cid}").text
    assert STALLED in support.get("/bulk/").text


def _sold(app, sm, ids) -> str:
    with app.app_context():
        bulk.run(db.session, sm, SEEDER, BulkRequest(
            "transition", tuple(ids), target_state="under_contract"), str(uuid.uuid4()))
        bulk.run(db.session, sm, SEEDER, BulkRequest(
            "transition", tuple(ids), target_state="sold"), cid := str(uuid.uuid4()))
    return cid


def test_an_undo_the_workflow_forbids_gives_the_reason_not_changed_since(
        app, sm, support, properties):
    cid = _sold(app, sm, properties)

    page = support.get(f"/bulk/{cid}/undo", headers=HTMX)

    assert "changed since" not in page.text
    assert "cannot go back to under_contract: the workflow has no way back" in page.text
    assert "Only an admin may force" in page.text and "force=1" not in page.text


def test_an_admin_may_preview_and_run_a_forced_undo(app, sm, login_as, properties):
    cid = _sold(app, sm, properties)
    admin = login_as("admin")
    offer = admin.get(f"/bulk/{cid}/undo", headers=HTMX)
    assert f"/bulk/{cid}/undo?force=1" in offer.text

    forced = admin.get(f"/bulk/{cid}/undo?force=1", headers=HTMX)
    assert "5 would be put back" in " ".join(forced.text.replace("<strong>", "").replace(
        "</strong>", "").split()) and 'name="force" value="1"' in forced.text
    done = admin.post(f"/bulk/{cid}/undo", data={"csrf_token": csrf_token(forced.text), "force": "1"})

    assert done.status_code == 303
    assert _statuses(app, properties) == ["under_contract"] * 5

"""The bulk pages: selection, dry-run preview, run, background job with progress, undo."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select

from tests.factories import PASSWORD, make_realestate, make_user
from tests.helpers import csrf_token, login
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes import counts
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import BulkOperation, Entity, StatusChange

SEEDER = Actor("seeder", "admin")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def app(make_app):
    """Jobs above 30 entities, in chunks of 10: large-selection behaviour on small data."""
    return make_app(BULK_JOB_THRESHOLD=30, BULK_JOB_CHUNK=10)


@pytest.fixture(autouse=True)
def sm(app, clock) -> Iterator[StateManager]:
    StateManager.reset_instance()
    manager = StateManager.get_instance()
    manager.clock = clock
    with app.app_context(), write_transaction(db.session):
        packs.install_packs(db.session, manager.workflows, SEEDER, clock())
    yield manager
    runner = app.extensions.get("bulk_jobs")
    if runner:
        runner.stop()
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


def _many(app, n: int) -> list[int]:
    """n available properties inserted set-based (fast), with their creation history."""
    with app.app_context():
        now = StateManager.get_instance().clock()
        first = (db.session.scalar(select(Entity.id).order_by(Entity.id.desc()).limit(1)) or 0) + 1
        ids = list(range(first, first + n))
        rows = [{"id": i, "type": "property", "name": f"{i} Elm Street", "status": "available",
                 "data": {}, "last_activity_at": now, "status_changed_at": now, "created_at": now,
                 "updated_at": now} for i in ids]
        db.session.execute(insert(Entity), rows)
        counts.added(db.session, rows)
        db.session.execute(insert(StatusChange), [
            {"entity_id": i, "old_status": None, "new_status": "available", "action": "create",
             "actor": "seed", "source": "import", "correlation_id": f"seed-{i}", "meta": {},
             "created_at": now} for i in ids])
        db.session.commit()
    return ids


def _statuses(app, ids):
    with app.app_context():
        return [db.session.get(Entity, i).status for i in ids]


def _form(page_html: str, **fields: str) -> dict[str, str]:
    """The hidden fields of the page's run form plus ``fields``, as the browser posts them."""
    form = re.search(r'<form method="post" action="/bulk/run".*?</form>', page_html, re.DOTALL).group(0)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    return {k: v.replace("&#34;", '"').replace("&quot;", '"') for k, v in hidden.items()} | fields


def _preview(client, ids, **fields):
    token = csrf_token(client.get(f"/bulk/new?ids={','.join(map(str, ids))}").text)
    data = {"csrf_token": token, "ids": ",".join(map(str, ids)), "action": "transition",
            "target_state": "reserved", "rollback_on_error": "1"} | fields
    return client.post("/bulk/preview", data={k: v for k, v in data.items() if v is not None})


def test_the_form_offers_the_states_of_the_selected_types(support, properties):
    page = support.get(f"/bulk/new?ids={properties[0]}&ids={properties[1]}")

    assert page.status_code == 200
    assert "2 entities selected" in re.sub(r"<[^>]+>", "", page.text).replace("\n", " ")
    assert '<option value="off_market"' in page.text and "Property" in page.text


def test_a_selection_can_be_every_entity_matching_a_filter(support, properties):
    page = support.get("/bulk/new?all_matching=1&type=property&status=available")

    assert page.status_code == 200
    assert "<strong>5</strong> entities selected" in page.text


def test_nothing_selected_offers_a_way_to_choose(support):
    page = support.get("/bulk/new")

    assert page.status_code == 200 and "Choose the entities" in page.text
    assert support.get("/bulk/new?ids=1,abc").status_code == 400


def test_the_preview_shows_each_item_and_why_some_would_fail(app, sm, support, properties):
    with app.app_context():
        for state in ("under_contract", "sold"):
            sm.transition(db.session, SEEDER, properties[0], state)

    page = _preview(support, properties, headers=None)

    assert page.status_code == 200
    assert "would change" in page.text and "final state" in page.text
    assert "All or nothing is on and 1 item would fail" in page.text
    assert _statuses(app, properties[1:]) == ["available"] * 4


def test_a_preview_with_bad_json_says_so_next_to_the_form(support, properties):
    page = _preview(support, properties, action="update", update_data="{oops")

    assert page.status_code == 400
    assert "Not JSON" in page.text


def test_the_htmx_preview_is_the_partial_alone(support, properties):
    token = csrf_token(support.get(f"/bulk/new?ids={properties[0]}").text)
    page = support.post("/bulk/preview", headers=HTMX, data={
        "csrf_token": token, "ids": str(properties[0]), "action": "assign", "assignee": "Mia Kim"})

    assert page.status_code == 200
    assert page.text.lstrip().startswith('<section class="card bulk-preview"')


def test_running_from_the_preview_changes_the_items_and_shows_the_result(app, support, properties):
    preview = _preview(support, properties)

    done = support.post("/bulk/run", data=_form(preview.text, csrf_token=csrf_token(preview.text)))

    assert done.status_code == 303
    result = support.get(done.headers["Location"])
    assert "Result" in result.text and "Preview undo" in result.text
    assert _statuses(app, properties) == ["reserved"] * 5
    with app.app_context():
        op = db.session.scalar(select(BulkOperation))
    assert (op.operation_type, op.successful_items, op.state) == ("transition", 5, "done")


def test_an_entity_changed_after_the_preview_is_skipped(app, sm, support, properties):
    preview = _preview(support, properties, rollback_on_error=None)
    with app.app_context():
        sm.transition(db.session, SEEDER, properties[2], "pending")

    done = support.post("/bulk/run", data=_form(preview.text, csrf_token=csrf_token(preview.text)))

    assert "changed after the preview" in support.get(done.headers["Location"]).text
    assert _statuses(app, properties)[2] == "pending"


def test_undo_shows_a_preview_then_puts_everything_back(app, support, properties):
    preview = _preview(support, properties)
    done = support.post("/bulk/run", data=_form(preview.text, csrf_token=csrf_token(preview.text)))
    cid = done.headers["Location"].rsplit("/", 1)[1]

    undo_preview = support.get(f"/bulk/{cid}/undo", headers=HTMX)
    assert "would be put back" in undo_preview.text
    assert _statuses(app, properties) == ["reserved"] * 5

    undone = support.post(f"/bulk/{cid}/undo", data={"csrf_token": csrf_token(preview.text)})
    assert undone.status_code == 303
    assert _statuses(app, properties) == ["available"] * 5
    assert "Bulk undo" in support.get(undone.headers["Location"]).text


def test_a_large_selection_runs_as_a_job_with_a_progress_partial(app, support):
    ids = _many(app, 45)
    page = support.get("/bulk/new?all_matching=1&type=property")
    assert "45 entities run as a background job" in page.text
    token = csrf_token(page.text)
    preview = support.post("/bulk/preview", data={
        "csrf_token": token, "all_matching": "1", "type": "property", "action": "transition",
        "target_state": "off_market"})
    assert "Start background job for 45 entities" in preview.text

    runner = app.extensions.get("bulk_jobs")
    started = support.post("/bulk/run", data=_form(preview.text, csrf_token=token))
    cid = started.headers["Location"].rsplit("/", 1)[1]
    assert app.extensions["bulk_jobs"].wait_idle(30) and runner is None

    progress = support.get(f"/bulk/{cid}/progress", headers=HTMX)
    assert progress.headers["HX-Redirect"] == f"/bulk/{cid}"
    assert _statuses(app, ids) == ["off_market"] * 45
    with app.app_context():
        op = db.session.scalar(select(BulkOperation).where(BulkOperation.correlation_id == cid))
    assert (op.state, op.processed_items, op.successful_items) == ("done", 45, 45)


def test_the_progress_partial_polls_while_the_job_is_queued(app, sm, support):
    from webapp.core.bulk import jobs as bulk_jobs
    from webapp.core.bulk.operations import BulkRequest

    ids = _many(app, 3)
    with app.app_context():
        bulk_jobs.queue(db.session, sm, SEEDER, BulkRequest("transition", tuple(ids),
                                                            target_state="pending"), "job-1")
    partial = support.get("/bulk/job-1/progress", headers=HTMX)

    assert 'hx-trigger="every 1s"' in partial.text and "0 of 3 processed" in partial.text
    assert "Waiting to start" in support.get("/bulk/job-1").text


def test_the_bulk_page_lists_recent_operations(support, properties):
    preview = _preview(support, properties)
    support.post("/bulk/run", data=_form(preview.text, csrf_token=csrf_token(preview.text)))

    page = support.get("/bulk/")

    assert page.status_code == 200 and "transition" in page.text and "done" in page.text


@pytest.mark.parametrize("role", ["auditor", "config_editor"])
def test_roles_without_operate_cannot_open_the_bulk_pages(login_as, role):
    browser = login_as(role)

    assert browser.get("/bulk/").status_code == 403
    assert browser.get("/bulk/new?ids=1").status_code == 403


def test_an_unknown_operation_is_404(support):
    assert support.get("/bulk/nope").status_code == 404

"""Each notification links to what it is about: its entity, its sweep run, its bulk operation."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.factories import load_packs
from tests.web.test_sweeps import SEEDER
from webapp.core.bulk import operations as bulk
from webapp.core.changes.manager import StateManager
from webapp.core.events import delivery
from webapp.core.sweeps import runs as sweep_runs
from webapp.extensions import db


@pytest.fixture(autouse=True)
def fresh_manager(clock) -> Iterator[None]:
    StateManager.reset_instance()
    StateManager.get_instance().clock = clock
    yield
    StateManager.reset_instance()


@pytest.fixture
def sm(app) -> StateManager:
    with app.app_context():
        return load_packs(db.session)


def feed_links(html: str) -> list[str]:
    feed = html[html.index('<ul class="feed notifications">'):]
    return re.findall(r'<a[^>]* href="([^"]+)"', feed[:feed.index("</ul>")])


def test_a_sweep_notification_links_to_its_run(app, sm, clock, login_as):
    with app.app_context():
        sm.create_entity(db.session, SEEDER, type="sales_rep", name="Ana Silva",
                         last_activity_at=clock() - timedelta(days=61))
        run_id = sweep_runs.run(db.session, sm, clock).run_id
        delivery.deliver_all(db.session, sm, sm.clock)
    browser = login_as("auditor")

    links = feed_links(browser.get("/events/").text)

    assert links == [f"/sweeps/runs/{run_id}"]
    page = browser.get(links[0])
    assert page.status_code == 200 and "Ana Silva" in page.text


def _bulk_close(app, sm) -> tuple[int, str]:
    """A builder closed by a bulk operation, which cascades to its property."""
    with app.app_context():
        builder = sm.create_entity(db.session, SEEDER, type="builder", name="Acme Homes")
        community = sm.create_entity(db.session, SEEDER, type="community", name="Oak Park",
                                     parent_id=builder.id)
        sm.create_entity(db.session, SEEDER, type="property", name="1 Oak Lane",
                         parent_id=community.id)
        cid = str(uuid.uuid4())
        bulk.run(db.session, sm, SEEDER, bulk.BulkRequest(
            "transition", (builder.id,), target_state="out_of_business"), cid)
        delivery.deliver_all(db.session, sm, sm.clock)
        return builder.id, cid


def test_a_change_made_in_bulk_links_to_its_entity_and_its_operation(app, sm, login_as):
    builder_id, cid = _bulk_close(app, sm)
    browser = login_as("support")

    links = feed_links(browser.get("/events/").text)

    assert links == [f"/entities/{builder_id}", f"/bulk/{cid}"]
    assert browser.get(links[1]).status_code == 200


def test_a_role_that_may_not_open_bulk_operations_gets_no_link_to_one(app, sm, login_as):
    builder_id, _ = _bulk_close(app, sm)

    assert feed_links(login_as("auditor").get("/events/").text) == [f"/entities/{builder_id}"]

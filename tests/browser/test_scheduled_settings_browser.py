"""In Chromium: a config editor schedules a setting change for later and cancels it; support
staff undo a sweep run from its page (issue 18)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import shot, sign_in
from tests.factories import load_packs, make_entity, make_user
from tests.live_server import ThreadedServer
from webapp.core.base.actor import Actor
from webapp.core.sweeps import runs as sweep_runs
from webapp.extensions import db
from webapp.models import Entity

pytestmark = pytest.mark.browser
SEEDER = Actor("seeder", "admin")


@pytest.fixture
def server(app, clock):
    """Two sales reps made inactive by a recorded sweep run; an editor and a support user."""
    with app.app_context():
        make_user(db.session, role="config_editor", username="editor")
        make_user(db.session, role="support", username="support")
        sm = load_packs(db.session)
        reps = [make_entity(sm, db.session, SEEDER, "sales_rep", name=f"Rep {n}").id
                for n in range(2)]
        clock.advance(days=61)
        run_id = sweep_runs.run(db.session, sm, clock).run_id
    with ThreadedServer(app) as running:
        running.run_id, running.reps = run_id, reps
        yield running


def test_a_config_editor_schedules_a_change_and_cancels_it(page, server, clock) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, server.url, "editor")
    page.goto(server.url + "/settings/")
    page.get_by_label("Builder grace period").fill("120")
    when = (clock() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("or take effect at (UTC)").fill(when)
    page.get_by_role("button", name="Schedule change").click()

    expect(page.locator(".flash-success")).to_contain_text("Nothing changes until then")
    scheduled = page.locator("#scheduled")
    expect(scheduled).to_contain_text("builder grace period → 120")
    expect(page.get_by_label("Builder grace period")).to_have_value("90")
    shot(page, "settings-scheduled.png")
    scheduled.get_by_role("button", name="Cancel").click()
    expect(page.locator(".flash-success")).to_contain_text("will not be applied")
    expect(page.locator("#scheduled")).to_contain_text("Nothing is scheduled")


def test_support_previews_and_undoes_a_sweep_run_from_its_page(page, server, app) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, server.url, "support")
    page.goto(server.url + "/sweeps/")
    page.get_by_role("link", name=f"#{server.run_id}").click()
    expect(page.locator("h1")).to_have_text(f"Sweep run #{server.run_id}")
    expect(page.get_by_role("link", name="Rep 0")).to_be_visible()

    page.get_by_role("link", name="Preview the undo").click()
    expect(page.locator("#undo")).to_contain_text("2 would be put back")
    shot(page, "sweep-run-undo-preview.png")
    page.get_by_role("button", name="Undo 2 changes").click()

    page.wait_for_url(f"{server.url}/bulk/**")
    with app.app_context():
        assert [db.session.get(Entity, r).status for r in server.reps] == ["active", "active"]

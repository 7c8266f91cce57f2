"""The entity pages in a real Chromium: live search, transitions, reasons, conflicts, reverts.

Screenshots land in test-artifacts/ for a person to look at.
"""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import shot
from tests.factories import PASSWORD, make_user
from tests.live_server import ThreadedServer
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    SEEDER,
    create,
    estate,
    fresh_state_manager,
    run,
    sm,
)
from webapp.extensions import db
from webapp.models import Entity

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def server(app, sm):
    with app.app_context():
        for role in ("admin", "support"):
            make_user(db.session, role=role, username=role)
    with ThreadedServer(app) as running:
        yield running


def sign_in(page, server, username: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")


def mark_page(page) -> None:
    """Leave a mark in the page's memory: a reload would wipe it."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload === true")


def test_search_as_you_type_finds_a_misspelt_name(page, server, create):
    for name in ("Acme Homes", "Summit Builders", "Harbor Living"):
        create("builder", name)
    sign_in(page, server, "support")
    page.goto(server.url + "/entities/?type=builder")
    mark_page(page)

    page.get_by_label("Search", exact=True).press_sequentially("acne hom", delay=40)

    rows = page.locator("#results td.name")
    expect(rows).to_have_text(["Acme Homes"])
    assert_not_reloaded(page)
    assert "q=acne%20hom" in page.url  # the address can be shared or bookmarked
    shot(page, "entities-search.png")


def test_a_transition_updates_the_timeline_without_a_reload(page, server, estate):
    sign_in(page, server, "support")
    page.goto(f"{server.url}/entities/{estate.builder}")
    mark_page(page)

    page.get_by_label("Comment").fill("Paperwork missing")
    page.get_by_role("button", name="Suspend").click()

    expect(page.locator("#actions")).to_contain_text("Moved to suspended.")
    first = page.locator("#timeline .change").first
    expect(first).to_contain_text("suspend")
    expect(first).to_contain_text("Paperwork missing")
    expect(first.locator(".badge.source-manual")).to_have_text("manual")
    expect(page.locator("#details .entity-head")).to_contain_text("Suspended")
    assert_not_reloaded(page)
    shot(page, "entity-after-transition.png")


def test_a_blocked_action_shows_its_reason(page, server, estate):
    sign_in(page, server, "support")
    page.goto(f"{server.url}/entities/{estate.builder}")

    blocked = page.get_by_role("button", name="Deactivate")

    expect(blocked).to_be_disabled()
    reason = page.locator("#why-deactivate")
    expect(reason).to_contain_text("must be at least 30 days old to deactivate")
    assert blocked.get_attribute("aria-describedby") == "why-deactivate"
    shot(page, "entity-blocked-reason.png")


def test_a_stale_form_shows_the_conflict_and_a_retry_works(page, server, estate, run, sm):
    sign_in(page, server, "support")
    page.goto(f"{server.url}/entities/{estate.builder}")
    run(lambda s: sm.transition(s, SEEDER, estate.builder, "suspended"))  # someone else, meanwhile
    mark_page(page)

    page.get_by_role("button", name="Merge").click()

    conflict = page.locator("#actions .notice.conflict")
    expect(conflict).to_contain_text("someone else changed it first")
    expect(conflict).to_contain_text("it is at version 2 now")
    expect(page.locator("#timeline .change").first).to_contain_text("suspend")
    shot(page, "entity-conflict.png")
    page.get_by_role("button", name="Reactivate").click()
    expect(page.locator("#actions")).to_contain_text("Moved to active.")
    assert_not_reloaded(page)


def test_revert_shows_a_preview_then_reverts_on_confirmation(page, server, estate, run, sm, app):
    run(lambda s: sm.transition(s, SEEDER, estate.builder, "suspended", reason="late payments"))
    sign_in(page, server, "support")
    page.goto(f"{server.url}/entities/{estate.builder}")

    page.locator("#timeline .change").first.get_by_role("link", name="Revert").click()

    preview = page.locator("#revert-panel .revert-preview")
    expect(preview).to_contain_text("Preview: nothing has changed yet.")
    expect(preview).to_contain_text("The workflow allows this.")
    expect(preview.locator("tbody tr").first).to_contain_text("suspended")
    expect(preview.locator("tbody tr").first).to_contain_text("active")
    shot(page, "entity-revert-preview.png")
    preview.get_by_label("Why revert?").fill("suspended the wrong builder")
    preview.get_by_role("button", name="Confirm revert").click()

    expect(page.locator(".flash-success")).to_contain_text("Reverted:")
    first = page.locator("#timeline .change").first
    expect(first).to_contain_text("suspended the wrong builder")
    expect(first.locator(".badge.source-revert")).to_have_text("revert")
    with app.app_context():
        assert db.session.get(Entity, estate.builder).status == "active"


def test_pages_at_a_narrow_width_and_the_dashboard(page, server, estate, create):
    create("ticket", "Printer jammed on floor 3", data={"priority": "HIGH"})
    sign_in(page, server, "admin")
    shot(page, "dashboard-entities.png")
    page.set_viewport_size({"width": 400, "height": 800})
    page.goto(f"{server.url}/entities/{estate.builder}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "entity-narrow.png")
    page.goto(f"{server.url}/entities/?type=property")
    shot(page, "entities-list-narrow.png")

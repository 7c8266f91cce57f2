"""Second-person approval in a real Chromium (issue 17): support asks to close a builder, an
admin sees the request in the inbox with the cascade preview and approves it; the builder's
history names both people.

Screenshots land in test-artifacts/ for a person to look at.
"""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from tests.browser.conftest import shot, sign_in
from tests.factories import make_user
from tests.live_server import ThreadedServer
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
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


@pytest.fixture
def server(app, sm):
    with app.app_context():
        make_user(db.session, role="support", username="sam")
        make_user(db.session, role="admin", username="ada")
    with ThreadedServer(app) as running:
        yield running


def test_support_asks_to_close_a_builder_and_an_admin_approves_it(page, server, estate, run):
    sign_in(page, server.url, "sam")
    page.goto(f"{server.url}/entities/{estate.builder}")
    page.get_by_label("Comment").fill("The owner retired")
    page.get_by_role("button", name="Ask for approval: Close").click()
    expect(page.locator(".pending-approval")).to_contain_text("awaiting approval by admin")
    expect(page.locator("#actions")).to_contain_text("Asked for approval")
    shot(page, "approvals-1-asked.png")
    assert run(lambda s: s.get(Entity, estate.builder).status) == "active"

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server.url, "ada")
    page.get_by_role("link", name="Approvals").click()
    card = page.locator("article.approval").first
    expect(card).to_contain_text("The owner retired")
    expect(card).to_contain_text("sam")
    expect(card).to_contain_text("4 related entities change with it")
    expect(card.locator(".cascade-preview li")).to_have_count(4)
    shot(page, "approvals-2-inbox.png")
    card.get_by_label("Comment (optional)").fill("Checked with the owner")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".flashes")).to_contain_text("Approved request")
    shot(page, "approvals-3-approved.png")

    page.goto(f"{server.url}/entities/{estate.builder}")
    expect(page.locator(".current-status")).to_contain_text("Out of business")
    timeline = page.locator("#timeline")
    expect(timeline.locator(".approval-meta").first).to_contain_text(
        "Asked by sam, approved by ada: “Checked with the owner”")
    shot(page, "approvals-4-history.png")
    assert run(lambda s: s.get(Entity, estate.properties[0]).status) == "off_market"


def test_rejecting_without_a_comment_keeps_the_form_with_its_message(page, server, estate, run):
    sign_in(page, server.url, "sam")
    page.goto(f"{server.url}/entities/{estate.builder}")
    page.get_by_role("button", name="Ask for approval: Close").click()
    expect(page.locator(".pending-approval")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, server.url, "ada")
    page.goto(f"{server.url}/approvals/")
    card = page.locator("article.approval").first
    card.get_by_role("button", name="Reject").click()
    expect(page.locator("article.approval .errors")).to_contain_text("Say why you reject it.")
    page.get_by_label("Why reject (required)").fill("Not before the audit")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("article.approval")).to_contain_text("Not before the audit")
    assert run(lambda s: s.get(Entity, estate.builder).status) == "active"

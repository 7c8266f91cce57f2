"""The audit viewer in a real Chromium: filtering in place, verifying the chain, one entry.

Screenshots land in test-artifacts/ for a person to look at.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.factories import PASSWORD, make_audit_entries, make_user
from tests.live_server import ThreadedServer
from webapp.core.base.actor import Actor
from webapp.extensions import db

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def page(app, chromium, clock):
    """An auditor signed in on the audit log, with entries by two people."""
    with app.app_context():
        make_user(db.session, role="auditor", username="aud")
        make_audit_entries(db.session, 3, clock(), Actor("ada", "admin", ip="203.0.113.5"),
                           "entity.transition", object_type="ticket", object_id="4",
                           message="opened for the plumber")
        make_audit_entries(db.session, 2, clock(), Actor("bob", "support"), "permission.denied",
                           message="GET /users/ needs manage_users", risk="medium")
    with ThreadedServer(app) as server:
        context = chromium.new_context(viewport={"width": 1200, "height": 800})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(server.url + "/login")
        tab.get_by_label("Username").fill("aud")
        tab.get_by_label("Password").fill(PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_url(server.url + "/")
        tab.goto(server.url + "/audit/")
        tab.wait_for_function("() => window.htmx !== undefined")
        yield tab
        assert errors == []
        context.close()


def test_filtering_updates_the_results_and_the_address_in_place(page):
    page.get_by_label("Actor").fill("bob")
    page.get_by_role("button", name="Filter").click()

    expect(page.get_by_role("status").first).to_contain_text("Showing 2 entries")
    assert "actor=bob" in page.url
    assert page.locator(".audit-table tbody tr").count() == 2
    page.screenshot(path=ARTIFACTS / "audit-filtered.png", full_page=True)


def test_verify_integrity_shows_the_result_without_leaving_the_page(page):
    page.get_by_role("button", name="Verify integrity").click()

    expect(page.locator("#verify-result")).to_contain_text("Intact: 5 entries verified")
    page.screenshot(path=ARTIFACTS / "audit-verified.png")


def test_a_tampered_row_is_named_and_can_be_opened(app, page):
    with app.app_context():
        db.session.execute(text("UPDATE audit_entries SET message = 'nothing' WHERE id = 2"))
        db.session.commit()

    page.get_by_role("button", name="Verify integrity").click()
    page.get_by_role("link", name="#2").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Audit entry #2")
    page.screenshot(path=ARTIFACTS / "audit-entry.png", full_page=True)

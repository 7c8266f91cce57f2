"""Scheduled moves in a real Chromium (CONTRACT §8, issue 16): support schedules a ticket's
move from its page, sees it pending, is told in place what was wrong with a bad time, and
cancels it. Screenshots land in test-artifacts/ for a person to look at."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import shot, sign_in
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    create,
    fresh_state_manager,
    run,
    sm,
)
from webapp.models import ScheduledTransition

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_support_schedules_a_move_and_cancels_it(page, server, create, clock, run):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    sign_in(page, server.url, "support")
    page.goto(f"{server.url}/entities/{ticket}")
    panel = page.locator("#schedules")
    expect(panel).to_contain_text("Nothing scheduled.")

    panel.get_by_label("Move to").select_option("OPEN")
    panel.get_by_label("At (UTC)").fill((clock() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_label("Reason").fill("after the vendor call")
    panel.get_by_role("button", name="Schedule the move").click()
    expect(page.locator("#schedule-at-errors")).to_contain_text("Choose a time in the future.")
    expect(page.locator("#schedules").get_by_label("Reason")).to_have_value("after the vendor call")

    at = clock() + timedelta(days=1)
    page.locator("#schedules").get_by_label("At (UTC)").fill(at.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#schedules").get_by_role("button", name="Schedule the move").click()
    expect(page.locator("#schedules")).to_contain_text("Scheduled: OPEN at")
    pending = page.locator("#schedules .schedules-pending li")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("after the vendor call")
    shot(page, "schedules-1-pending.png")
    assert run(lambda s: s.query(ScheduledTransition).one().status) == "pending"

    pending.get_by_role("button", name="Cancel").click()
    expect(page.locator("#schedules")).to_contain_text("Cancelled the move to OPEN")
    expect(page.locator("#schedules .schedules-pending li")).to_have_count(0)
    shot(page, "schedules-2-cancelled.png")
    assert run(lambda s: s.query(ScheduledTransition).one().status) == "cancelled"

"""The SLA badge in Chromium (CONTRACT §8): a CRITICAL ticket's page counts down from its
4 h goal and says why that goal applies; putting it on hold pauses the badge in place."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from tests.browser.conftest import shot, sign_in
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    SEEDER,
    create,
    fresh_state_manager,
    run,
    sm,
)

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_the_sla_badge_counts_down_and_pauses_on_hold(page, server, sm, create, run, clock):
    ticket = create("ticket", "Boiler down", data={"priority": "CRITICAL"})
    run(lambda s: sm.transition(s, SEEDER, ticket, "OPEN"))
    clock.advance(hours=1, minutes=15)
    sign_in(page, server.url, "support")
    page.goto(f"{server.url}/entities/{ticket}")

    badge = page.locator("#sla")
    expect(badge).to_contain_text("Resolution")
    expect(badge).to_contain_text("2 h 45 min left")
    expect(badge).to_contain_text("Goal 4 h: priority is CRITICAL")

    page.get_by_role("button", name="Hold").click()

    expect(page.locator("#actions")).to_contain_text("ONHOLD")
    expect(badge).to_contain_text("Paused, 2 h 45 min left")
    expect(badge.locator(".badge")).to_have_class("badge state-off")
    shot(page, "sla-badge-paused.png")

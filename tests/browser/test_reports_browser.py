"""The reports page in a real Chromium (issue 16): pick a type, see time in state and
throughput drawn as charts (with titles, and the numbers in tables), and the stuck list.

Screenshots land in test-artifacts/ for a person to look at.
"""
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


@pytest.fixture
def story(create, run, sm, clock):
    """Four transactions over two days: three activated (after 1, 2 and 5 hours), one left
    pending; one of the active ones suspended the next day."""
    ids = [create("transaction", name=f"Payment {n}") for n in ("A", "B", "C", "D")]
    for hours, eid in ((1, ids[0]), (1, ids[1]), (3, ids[2])):
        clock.advance(hours=hours)
        run(lambda s, eid=eid: sm.transition(s, SEEDER, eid, "active"))
    clock.advance(days=1)
    run(lambda s: sm.transition(s, SEEDER, ids[0], "suspended"))
    return ids


def test_the_reports_of_a_type_show_their_charts_tables_and_stuck_list(page, server, story):
    sign_in(page, server.url, "support")
    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Entity type").select_option("transaction")
    page.get_by_label("Throughput days").fill("7")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_role("heading", name="Reports: Transaction")).to_be_visible()
    times = page.get_by_role("img", name="Transaction: p50 and p90 time in each state")
    expect(times).to_be_visible()
    assert times.locator("rect.bar.p50").count() == 2  # pending and active have ended stays
    days = page.get_by_role("img", name="Transaction: entries into each state per day")
    expect(days).to_be_visible()
    cells = page.locator("#throughput tbody td").all_text_contents()
    assert days.locator("rect.seg").count() == sum(c != "0" for c in cells) >= 3  # one a number
    expect(page.get_by_role("list", name="Legend")).to_contain_text("Suspended")
    pending = page.locator("#time-in-state tr", has_text="Pending")
    expect(pending).to_contain_text("4")  # entries
    expect(pending.get_by_role("link", name="Payment D")).to_be_visible()  # there longest
    expect(page.locator("#stuck")).to_contain_text("Payment D")  # pending 29 h; p90 is 5 h
    shot(page, "reports-transaction.png")

    page.get_by_text("The numbers, day by day").click()
    expect(page.locator("#throughput tbody tr")).to_have_count(7)

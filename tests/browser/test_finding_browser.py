"""Finding things in Chromium (issue 15): a support person filters properties by price, sorts
by the price column, saves the filter as a view pinned to the dashboard, and finds an entity
from the header search with "/", the arrow keys and Enter. Screenshots in test-artifacts/."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import shot, sign_in
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    SEEDER,
    create,
    fresh_state_manager,
    sm,
)

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def houses(create) -> dict[str, int]:
    builder = create("builder", "Harbour Homes")
    ridge = create("community", "Maple Ridge", parent_id=builder)
    return {name: create("property", name, parent_id=ridge,
                         data={"price": price, "bedrooms": beds, "address": f"{name} Road"})
            for name, price, beds in (("Cottage", "250000", 2), ("Villa", "1200000", 5),
                                      ("Bungalow", "410000", 3), ("Loft", "390000", 1))}


def _names(page) -> list[str]:
    return page.locator("#results td.name a").all_inner_texts()


def test_filter_sort_save_and_pin_a_view(page, server, houses):
    sign_in(page, server.url, "support")
    page.goto(server.url + "/entities/?type=property")
    page.get_by_label("from").first.fill("300000")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#results td.name a")).to_have_count(3)
    page.get_by_role("link", name=re.compile("^Price")).click()
    expect(page.locator("#results td.name a").first).to_have_text("Loft")  # cheapest first
    page.get_by_role("link", name=re.compile("^Price")).click()
    expect(page.locator("#results td.name a").first).to_have_text("Villa")
    assert _names(page) == ["Villa", "Bungalow", "Loft"]
    shot(page, "list-filtered-by-price.png")

    page.get_by_text("Views", exact=True).click()
    page.get_by_label("Save this filter as").fill("Over 300k")
    page.get_by_label("Pin to the dashboard").check()
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("Saved the view “Over 300k”.")).to_be_visible()

    page.goto(server.url + "/")
    pinned = page.locator(".pinned-views")
    expect(pinned.get_by_role("link", name="Over 300k")).to_be_visible()
    expect(pinned.locator(".count")).to_have_text("3")
    shot(page, "dashboard-pinned-view.png")
    pinned.get_by_role("link", name="Over 300k").click()
    assert sorted(_names(page)) == ["Bungalow", "Loft", "Villa"]


def test_a_bad_price_is_said_beside_the_filter(page, server, houses):
    sign_in(page, server.url, "support")
    page.goto(server.url + "/entities/?type=property&data.price__gte=-x")
    expect(page.locator("#ff-price-errors")).to_contain_text("Price must be a number")


def test_the_header_search_opens_the_best_match_with_the_keyboard(page, server, houses):
    sign_in(page, server.url, "support")
    page.goto(server.url + "/entities/?type=builder")
    page.locator("main").click()
    page.keyboard.press("/")
    expect(page.locator("#header-q")).to_be_focused()
    page.keyboard.type("bungalo")
    options = page.locator("#header-search-list [role=option]")
    expect(options.first).to_contain_text("Bungalow")
    expect(options.first).to_have_attribute("aria-selected", "true")
    shot(page, "header-search.png")
    page.keyboard.type("w")
    expect(options.first).to_contain_text("Bungalow")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/entities/{houses['Bungalow']}$"))

    page.keyboard.press("/")
    page.keyboard.type("maple")
    expect(options).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    expect(options).to_have_count(0)

"""Creating and editing entities through the forms of their declared fields, in Chromium:
a person never meets JSON. Screenshots land in test-artifacts/ for a person to look at."""
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
    run,
    sm,
)
from webapp.models import Entity

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def community(create) -> int:
    builder = create("builder", "Acme Homes")
    return create("community", "Maple Ridge", parent_id=builder)


def test_a_support_user_creates_a_property_after_fixing_a_negative_price(page, server,
                                                                         community, run):
    sign_in(page, server.url, "support")
    page.goto(server.url + "/entities/?type=property")
    shot(page, "entity-list-new.png")
    page.get_by_role("link", name="New property").click()

    page.get_by_label("Name").fill("12 Harbour Lane")
    parent = page.get_by_label("Parent community")
    parent.press_sequentially("maple", delay=30)
    suggestion = page.locator("#parent-options option")
    expect(suggestion).to_have_count(1)
    parent.fill(suggestion.get_attribute("value"))  # what picking the suggestion does
    page.get_by_label("Address").fill("12 Harbour Lane, Portside")
    page.get_by_label("Price").fill("-5")
    page.get_by_role("button", name="Create property").click()

    price_errors = page.locator("#data-price-errors")
    expect(price_errors).to_have_text("Price must be a number of at least 0.")
    expect(page.get_by_label("Address")).to_have_value("12 Harbour Lane, Portside")
    expect(page.locator("#problems")).to_contain_text("Not created yet")
    assert page.get_by_label("Price").get_attribute("aria-invalid") == "true"
    shot(page, "entity-new-error.png")

    page.get_by_label("Price").fill("350000")
    page.get_by_role("button", name="Create property").click()

    page.wait_for_url(re.compile(r"/entities/\d+$"))
    expect(page.locator("h1")).to_have_text("12 Harbour Lane")
    details = page.locator("#details")
    expect(details).to_contain_text("350,000")
    expect(details).to_contain_text("12 Harbour Lane, Portside")
    expect(details.get_by_role("link", name="Maple Ridge")).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("Created property “12 Harbour Lane”.")
    assert "{" not in page.locator("#main").inner_text()  # no JSON anywhere on the page
    shot(page, "entity-new-created.png")
    [created] = run(lambda s: s.query(Entity).filter_by(name="12 Harbour Lane").all())
    assert (created.parent_id, created.data["price"]) == (community, "350000")


def test_the_edit_form_saves_in_place_and_flags_a_bad_value_inline(page, server, community,
                                                                   create, run):
    home = create("property", "Dune View", parent_id=community,
                  data={"address": "1 Dune Road", "price": "425000"})
    sign_in(page, server.url, "support")
    page.goto(f"{server.url}/entities/{home}")
    page.evaluate("window.__noReload = true")

    page.get_by_text("Edit name and details").click()
    page.get_by_label("Bedrooms").fill("60")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#data-bedrooms-errors")).to_have_text(
        "Bedrooms must be a whole number from 0 to 50.")
    page.get_by_label("Bedrooms").fill("3")
    page.get_by_label("Bedrooms").press("Enter")  # saves: no list row's button is the default

    expect(page.locator("#details .flash-success")).to_have_text("Saved.")
    expect(page.locator("#timeline .change").first).to_contain_text("Bedrooms")
    assert page.evaluate("window.__noReload === true")
    shot(page, "entity-edit-saved.png")
    assert run(lambda s: s.get(Entity, home).data["bedrooms"]) == 3


def test_line_items_are_added_and_removed_in_place(page, server, create, run):
    order = create("work_order", "Boiler service")
    sign_in(page, server.url, "support")
    page.goto(f"{server.url}/entities/{order}")
    page.get_by_text("Edit name and details").click()

    table = page.locator("[data-list]").filter(has_text="Line items")
    table.get_by_role("button", name="Add a row").click()
    table.get_by_role("button", name="Add a row").click()
    cells = table.locator("tbody tr")
    expect(cells).to_have_count(3)
    descriptions = table.get_by_label(re.compile(r"^Description, row \d"))
    descriptions.nth(0).fill("Valve")
    table.get_by_label(re.compile(r"^Quantity, row 1")).fill("2")
    descriptions.nth(1).fill("Mistake")
    descriptions.nth(2).fill("Labour")
    table.get_by_role("button", name="Remove row 2").click()
    expect(cells).to_have_count(2)
    shot(page, "entity-line-items.png")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#details .flash-success")).to_have_text("Saved.")
    items = run(lambda s: s.get(Entity, order).data["line_items"])
    assert [i["description"] for i in items] == ["Valve", "Labour"]
    assert items[0]["quantity"] == 2

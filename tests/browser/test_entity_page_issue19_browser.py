"""Issue 19 in Chromium: failed requests say so in place, long names wrap, a rename renames
the page. Screenshots land in test-artifacts/ for a person to look at."""
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
from tests.web.test_entity_page_issue19 import LONG, MEMO, _search_limit
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import packs
from webapp.extensions import db

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


#: What the browser and htmx log for the failures these tests cause on purpose.
EXPECTED = re.compile(r"Response Status Error Code|Failed to load resource|net::ERR_FAILED"
                      r"|htmx:(sendError|afterRequest)|\[object (Object|ProgressEvent)\]")


@pytest.fixture
def page(chromium, server):
    """The shared page fixture's checks (no script errors, no CSP violations), but tolerant of
    the console lines the deliberate failures below leave."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda msg: errors.append(msg.text)
              if msg.type == "error" and not EXPECTED.search(msg.text) else None)
    yield opened
    context.close()
    assert errors == []


def _tickets(create, *names: str) -> list[int]:
    return [create("ticket", name, data={"priority": "LOW"}) for name in names]


def _search(page, text: str) -> None:
    page.get_by_label("Search", exact=True).fill(text)


def test_a_rate_limited_live_search_says_so_and_when_to_retry(page, server, app, clock, create):
    _tickets(create, "Printer jammed", "Scanner broken")
    _search_limit(app, clock, 2)
    sign_in(page, server.url, "admin")
    page.goto(server.url + "/entities/?type=ticket")
    _search(page, "printer")
    expect(page.locator("#results td.name")).to_have_text(["Printer jammed"])
    _search(page, "scanner")
    expect(page.locator("#results td.name")).to_have_text(["Scanner broken"])

    _search(page, "printer")  # the third search in five minutes: refused

    failed = page.locator(".request-failed")
    expect(failed).to_contain_text("Too many requests")
    expect(failed).to_contain_text(re.compile(r"Try again in \d+ (seconds|minutes)"))
    expect(failed).to_contain_text("What is shown below is not updated")
    expect(page.locator("#results")).to_have_class(re.compile("is-stale"))
    shot(page, "issue19-search-rate-limited.png")


def test_a_server_error_and_a_lost_connection_are_explained_and_cleared_by_a_success(
        page, server, create):
    _tickets(create, "Printer jammed", "Scanner broken")
    sign_in(page, server.url, "admin")
    page.goto(server.url + "/entities/?type=ticket")
    failed = page.locator(".request-failed")

    page.route(re.compile(r".*/entities/\?.*q=.*"), lambda route: route.fulfill(
        status=500, body="<p>boom</p>", content_type="text/html"))
    _search(page, "printer")
    expect(failed).to_contain_text("Something went wrong on the server (error 500)")
    shot(page, "issue19-search-500.png")

    page.unroute(re.compile(r".*/entities/\?.*q=.*"))
    page.route(re.compile(r".*/entities/\?.*q=.*"), lambda route: route.abort())
    _search(page, "scanner")
    expect(failed).to_contain_text("Could not reach the server")
    expect(failed).to_have_count(1)  # one message, replaced, not piled up

    page.unroute(re.compile(r".*/entities/\?.*q=.*"))
    _search(page, "printer")
    expect(page.locator("#results td.name")).to_have_text(["Printer jammed"])
    expect(failed).to_have_count(0)
    expect(page.locator("#results")).not_to_have_class(re.compile("is-stale"))


def test_a_long_name_wraps_in_the_list_and_on_its_page(page, server, create):
    [long_one] = _tickets(create, LONG)
    sign_in(page, server.url, "admin")

    page.goto(server.url + "/entities/?type=ticket")
    width = page.evaluate("document.documentElement.scrollWidth")
    card = page.locator("#results").bounding_box()
    table = page.locator("#results table").bounding_box()
    shot(page, "issue19-long-name-list.png")
    assert width <= 1280
    assert table["x"] + table["width"] <= card["x"] + card["width"]
    assert page.locator("#results td.name a").inner_text().replace("\n", "") == LONG

    page.goto(f"{server.url}/entities/{long_one}")
    shot(page, "issue19-long-name-page.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.locator("h1").get_attribute("title") == LONG


def test_a_rename_renames_the_breadcrumb_and_the_window_title(page, server, app, sm, create):
    with app.app_context(), write_transaction(db.session):
        packs.import_document(db.session, sm.workflows, MEMO, SEEDER, sm.clock())
    note = create("memo", "Printer jammed", data={})
    sign_in(page, server.url, "admin")
    page.goto(f"{server.url}/entities/{note}")
    page.evaluate("window.__noReload = true")

    page.get_by_text("Edit name and data").click()
    page.get_by_label("Name").fill("Printer fixed")
    page.get_by_role("button", name="Save", exact=True).last.click()

    expect(page.locator("#details h1")).to_have_text("Printer fixed")
    expect(page.locator(".breadcrumbs [aria-current=page]")).to_have_text("Printer fixed")
    expect(page).to_have_title(re.compile(r"^Printer fixed · Statekeeper$"))
    assert page.evaluate("window.__noReload === true")
    shot(page, "issue19-renamed.png")

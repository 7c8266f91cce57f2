"""Issue 19 in Chromium: a refused move or revert keeps the person where they were, on the
entity's page, with focus on what says why (read out as an alert); a done revert says so in
place, focused, and the page's panels follow."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from tests.browser.conftest import shot, sign_in
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    SEEDER,
    create,
    estate,
    fresh_state_manager,
    run,
    sm,
)
from webapp.models import Entity

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def ticket(create) -> int:
    return create("ticket", "Printer jammed", data={"priority": "LOW"})


def _open(page, server, entity_id: int) -> str:
    sign_in(page, server.url, "admin")
    url = f"{server.url}/entities/{entity_id}"
    page.goto(url)
    return url


def _move(page, to: str):
    return page.locator(f'#actions button[name="to"][value="{to}"]')


def _status(run, entity_id: int) -> str:
    return run(lambda s: s.get(Entity, entity_id).status)


def test_a_move_refused_for_a_missing_comment_focuses_the_comment_it_needs(page, server, ticket, run):
    url = _open(page, server, ticket)

    _move(page, "CANCELLED").click()

    expect(page.locator("#comment-errors")).to_contain_text("A comment is required to cancel")
    expect(page.locator("#comment")).to_be_focused()
    assert page.url == url and _status(run, ticket) == "NEW"
    page.keyboard.type("Duplicate of another ticket")  # typed straight where it is needed
    _move(page, "CANCELLED").click()
    expect(page.locator("#actions .flash-success")).to_be_focused()
    assert _status(run, ticket) == "CANCELLED"


def test_a_move_refused_because_someone_moved_first_focuses_the_reason(page, server, ticket,
                                                                        run, sm):
    url = _open(page, server, ticket)
    run(lambda s: sm.transition(s, SEEDER, ticket, "OPEN"))  # someone else, meanwhile

    _move(page, "OPEN").click()

    notice = page.locator("#actions .notice.conflict")
    expect(notice).to_contain_text("someone else changed it first")
    expect(notice).to_be_focused()
    expect(notice).to_have_attribute("role", "alert")
    assert page.url == url


def test_a_refused_revert_stays_in_its_panel_with_the_reason_focused(page, server, estate, run, sm):
    pid = estate.properties[0]
    run(lambda s: sm.transition(s, SEEDER, pid, "under_contract"))
    run(lambda s: sm.transition(s, SEEDER, pid, "sold"))
    url = _open(page, server, pid)

    page.locator("#timeline .change").first.locator(".change-tools a").click()
    panel = page.locator("#revert-panel")
    expect(panel.get_by_role("heading")).to_be_focused()
    panel.get_by_label("Why revert?").fill("Sold by mistake")
    panel.get_by_role("button", name="Confirm revert").click()  # forbidden, and not forced

    refusal = panel.locator(".notice.error")
    expect(refusal).to_contain_text("Not reverted.")
    expect(refusal).to_be_focused()
    assert page.url == url and _status(run, pid) == "sold"
    expect(panel.get_by_label("Why revert?")).to_have_value("Sold by mistake")  # kept
    shot(page, "issue19-refused-revert.png")

    panel.get_by_label("Force it", exact=False).check()
    panel.get_by_role("button", name="Confirm revert").click()

    done = panel.locator(".flash-success")
    expect(done).to_contain_text("Reverted:")
    expect(done).to_be_focused()
    expect(page.locator("#actions .current-status")).to_contain_text("Under contract")
    assert page.url == url and _status(run, pid) == "under_contract"


def test_a_revert_without_a_reason_says_so_in_place_focused(page, server, estate, run, sm):
    run(lambda s: sm.transition(s, SEEDER, estate.builder, "suspended", reason="late"))
    url = _open(page, server, estate.builder)

    page.locator("#timeline .change").first.locator(".change-tools a").click()
    page.locator("#revert-panel").get_by_role("button", name="Confirm revert").click()

    refusal = page.locator("#revert-panel .notice.error")
    expect(refusal).to_contain_text("Not reverted yet")
    expect(refusal).to_be_focused()
    assert page.url == url and _status(run, estate.builder) == "suspended"


def test_a_refused_edit_focuses_the_first_value_it_refuses(page, server, estate, run):
    url = _open(page, server, estate.properties[0])
    page.get_by_text("Edit name and details").click()
    page.get_by_label("Bedrooms").fill("99")

    page.locator("#details").get_by_role("button", name="Save", exact=True).click()

    bedrooms = page.get_by_label("Bedrooms")
    expect(page.locator("#details .errors")).to_contain_text("50")
    expect(bedrooms).to_be_focused()
    expect(bedrooms).to_have_value("99")
    assert page.url == url

"""Issue 19 in Chromium: the long settings form keeps its buttons in view while it scrolls, and
a refused save opens on a focused summary whose links lead to the settings to fix."""
from __future__ import annotations

import pytest

from tests.browser.conftest import shot, sign_in
from tests.factories import load_packs, make_user
from tests.live_server import ThreadedServer
from webapp.extensions import db

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def server(app):
    with app.app_context():
        make_user(db.session, role="config_editor", username="editor")
        load_packs(db.session)
    with ThreadedServer(app) as running:
        yield running


def test_the_buttons_stay_in_view_in_the_middle_of_the_form(page, server):
    sign_in(page, server.url, "editor")
    page.goto(server.url + "/settings/")
    save = page.get_by_role("button", name="Save settings")
    assert page.locator("#settings-form").bounding_box()["height"] > 2 * 900  # two windows
    groups = page.locator("#settings-form fieldset")

    groups.nth(groups.count() // 2).scroll_into_view_if_needed()  # neither end in view

    expect(groups.first.locator("legend")).not_to_be_in_viewport()
    expect(save).to_be_in_viewport()
    expect(page.get_by_role("button", name="Preview impact")).to_be_in_viewport()


def test_a_refused_save_opens_on_a_focused_summary_linking_to_each_setting(page, server):
    sign_in(page, server.url, "editor")
    page.goto(server.url + "/settings/")
    page.get_by_label("Builder warning period").fill("120")  # longer than the grace period
    page.locator("#settings-form fieldset").last.scroll_into_view_if_needed()

    page.get_by_role("button", name="Save settings").click()

    summary = page.locator("#settings-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("1 setting to fix before saving")
    shot(page, "issue19-settings-summary.png")
    summary.get_by_role("link", name="Builder warning period").click()
    expect(page).to_have_url(server.url + "/settings/#builder_warning_period")
    expect(page.get_by_label("Builder warning period")).to_be_in_viewport()

"""A config editor tunes a grace period in Chromium, previews the impact, saves."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import shot, sign_in
from tests.factories import load_packs, make_user
from tests.live_server import ThreadedServer
from webapp.core.base.actor import Actor
from webapp.extensions import db

pytestmark = pytest.mark.browser
SEEDER = Actor("seeder", "admin")


@pytest.fixture
def server(app, clock):
    with app.app_context():
        make_user(db.session, role="config_editor", username="editor")
        sm = load_packs(db.session)
        for days in (45, 70, 100):
            sm.create_entity(db.session, SEEDER, type="builder", name=f"Quiet {days}",
                             last_activity_at=clock() - timedelta(days=days - 40))
    clock.advance(days=40)
    with ThreadedServer(app) as running:
        yield running


def test_editing_a_grace_period_shows_the_impact_before_saving(page, server) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, server.url, "editor")
    page.goto(server.url + "/settings/")
    page.get_by_label("Builder grace period").fill("65")
    page.get_by_label("Builder warning period").fill("30")
    page.get_by_role("button", name="Preview impact").click()
    impact = page.locator("#impact")
    expect(impact).to_contain_text("With a builder grace period of 65 days, 2 builders would "
                                   "become inactive and 1 would be warned")
    shot(page, "settings-preview.png")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-success")).to_contain_text("builder grace period: 90 → 65")


def test_an_invalid_value_is_flagged_inline_as_you_leave_the_field(page, server) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, server.url, "editor")
    page.goto(server.url + "/settings/")
    page.get_by_label("Builder warning period").fill("120")
    page.get_by_label("Builder warning period").blur()
    expect(page.get_by_text("Must be shorter than the grace period (90 days).")).to_be_visible()
    shot(page, "settings-inline-error.png")

"""Sessions in a real Chromium: after signing out, the old cookie gets the sign-in page;
signing in while signed in never signs you out."""
from __future__ import annotations

import pytest

from tests.browser.conftest import shot, sign_in
from tests.live_server import ThreadedServer
from webapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def server(app):
    from tests.factories import make_user

    with app.app_context():
        make_user(db.session, role="support", username="sam")
    with ThreadedServer(app) as running:
        yield running


def test_after_signing_out_the_old_cookie_gets_the_sign_in_page(chromium, page, server):
    sign_in(page, server.url, "sam")
    cookies = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(server.url + "/login")

    other = chromium.new_context()
    other.add_cookies(cookies)
    replay = other.new_page()
    replay.goto(server.url + "/entities/")

    assert replay.url.startswith(server.url + "/login")
    assert replay.get_by_role("button", name="Sign in").is_visible()
    shot(replay, "session-old-cookie-after-sign-out.png")
    other.close()


def test_signing_in_while_signed_in_keeps_you_signed_in_every_time(page, server):
    for _ in range(3):
        page.goto(server.url + "/login")
        if page.url.startswith(server.url + "/login"):  # only when signed out
            page.get_by_label("Username").fill("sam")
            page.get_by_label("Password").fill("correct-horse-42")
            page.locator("button[type=submit]").first.click()
        page.wait_for_url(server.url + "/")
        assert page.locator(".username").inner_text() == "sam"
        assert page.get_by_text("You are signed out").count() == 0

"""Signing in with a real Chromium against the app served over HTTP.

Screenshots land in test-artifacts/ (gitignored) for a human to look at.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import PASSWORD, make_user
from tests.helpers import NAV_BY_ROLE, existing_nav_labels
from tests.live_server import ThreadedServer
from webapp.extensions import db
from webapp.models import ROLES

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def server(app):
    with app.app_context():
        for role in ROLES:
            make_user(db.session, role=role, username=role)
    with ThreadedServer(app) as running:
        yield running


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 640})
    context.set_default_timeout(5_000)  # a missing element fails in seconds, not 30
    yield context.new_page()
    context.close()


@pytest.fixture
def script_errors(page) -> list[str]:
    """Errors the page reports: a broken script, a CSP refusal, a missing file."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def sign_in(page, server, username: str, password: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_and_sees_its_navigation(app, page, script_errors, server, role):
    sign_in(page, server, role, PASSWORD)

    page.wait_for_url(server.url + "/")
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    assert set(links.all_inner_texts()) == NAV_BY_ROLE[role] & existing_nav_labels(app)
    assert links.first.inner_text() == "Dashboard"
    assert page.get_by_title("Your role").inner_text() == role.replace("_", " ")
    page.screenshot(path=ARTIFACTS / f"dashboard-{role}.png", full_page=True)
    page.wait_for_function("() => window.htmx !== undefined")  # vendored htmx ran under CSP
    assert script_errors == []


def test_a_wrong_password_shows_an_error_next_to_the_form(page, server):
    sign_in(page, server, "auditor", "not-the-password-1")

    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    assert page.url.startswith(server.url + "/login")
    page.screenshot(path=ARTIFACTS / "login-failed.png", full_page=True)


def test_signing_out_returns_to_the_sign_in_page(page, server):
    sign_in(page, server, "support", PASSWORD)
    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url(server.url + "/login")
    assert page.get_by_text("You are signed out.").is_visible()


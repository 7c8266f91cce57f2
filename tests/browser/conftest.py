"""Shared browser fixtures: one Chromium per module, a page per test that fails on script errors."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    try:
        options = services.chromium_launch_options()
    except services.ServiceUnavailable as exc:
        pytest.skip(str(exc))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    if "server" in request.fixturenames:
        # Start the test's server first so that it stops after this page has closed: a server
        # that stops under an open page resets Chromium's pending connections, which the page
        # reports as script errors (ERR_CONNECTION_RESET) that the test never caused.
        request.getfixturevalue("server")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "status of 4" not in msg.text else None)
    yield page
    context.close()
    assert errors == []  # no script errors, no CSP violations


@pytest.fixture
def server(app: Any, sm: Any) -> Iterator[Any]:
    """The app (with the packs, through the module's ``sm`` fixture) served on a thread, with a
    user named after each role that operates: "support" and "admin". A module that needs
    other people defines its own ``server``."""
    from tests.factories import make_user
    from tests.live_server import ThreadedServer
    from webapp.extensions import db

    with app.app_context():
        for role in ("support", "admin"):
            make_user(db.session, role=role, username=role)
    with ThreadedServer(app) as running:
        yield running


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot into test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    # caret="initial": hiding the caret would inject an inline style, which the CSP refuses.
    page.screenshot(path=ARTIFACTS / name, full_page=True, caret="initial")


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + "/")

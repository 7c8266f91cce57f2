"""Script payloads in names, data, usernames and reasons come back as text, never as markup.

The same hostile data is checked twice: in the HTML of every page that shows it (escaped,
never raw), and in a real Chromium, where no dialog may fire on any of those pages.
Pages of areas that are not built yet are skipped (each is looked up by its endpoint).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests import services
from tests.factories import PASSWORD, load_packs, make_user
from tests.helpers import login
from tests.live_server import ThreadedServer
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.users import accounts
from webapp.extensions import db
from webapp.models import AuditEntry, User

SCRIPT = '<script>alert("xss-script")</script>'
IMG = "\"'><img src=x onerror=alert('xss-img')>"
SVG = "<svg onload=alert('xss-svg')>"
RAW = (SCRIPT, "<img src=x onerror", "<svg onload")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def hostile(app):
    """Entities, a user and audit entries carrying script payloads; returns their addresses."""
    with app.app_context():
        manager = load_packs(db.session)
        admin = make_user(db.session, role="admin", username="admin")
        actor = Actor(admin.username, "admin")
        ticket = manager.create_entity(db.session, actor, type="ticket", name=f"Tap {SCRIPT}",
                                       data={"description": IMG, "priority": "LOW",
                                             "customer_name": f"{SVG} {SCRIPT}"})
        manager.transition(db.session, actor, ticket.id, "OPEN", reason=f"because {IMG}")
        with write_transaction(db.session):  # a name from before 0009: new names hold no markup
            db.session.add(User(username=f"eve{SVG}", role="support",
                                password_hash=accounts.hash_password(PASSWORD)))
        evil_id = db.session.scalar(select(User.id).where(User.username == f"eve{SVG}"))
        ticket_id = ticket.id
    # A sign-in attempt with a hostile name lands in the audit log as its actor.
    login(app.test_client(), f"mallory{SCRIPT}", "wrong-password-1")
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry.id)).all()
        created = db.session.scalar(select(AuditEntry.id).where(
            AuditEntry.event_type == "entity.create"))
    pages = {
        "dashboard.index": ["/"],
        "entities.index": ["/entities/?type=ticket", f"/entities/?type=ticket&q={SCRIPT}"],
        "entities.show": [f"/entities/{ticket_id}"],
        "audit.index": ["/audit/", f"/audit/?actor=mallory{SCRIPT}"],
        "audit.show": [f"/audit/{i}" for i in entries],
        "users.index": ["/users/"],
        "users.show": [f"/users/{evil_id}"],
    }
    return {"ticket_id": ticket_id, "screenshots": {
                "/audit/": "xss-audit-log.png", f"/audit/{created}": "xss-audit-entry.png",
                "/users/": "xss-users.png", f"/users/{evil_id}": "xss-user.png"},
            "pages": [p for endpoint, urls in pages.items() if endpoint in app.view_functions
                      for p in urls]}


def test_every_page_showing_hostile_data_escapes_it(app, hostile):
    browser = app.test_client()
    login(browser, "admin", PASSWORD)

    shown_escaped = 0
    for path in hostile["pages"]:
        page = browser.get(path)
        assert page.status_code == 200, path
        for raw in RAW:
            assert raw not in page.text, f"{path} shows {raw!r} unescaped"
        shown_escaped += "&lt;script&gt;" in page.text or "&lt;svg" in page.text
    assert shown_escaped >= 5  # the payloads really were on the pages, as text


def test_the_api_returns_hostile_data_as_json_strings_that_browsers_will_not_run(app, hostile):
    browser = app.test_client()
    login(browser, "admin", PASSWORD)

    response = browser.get(f"/api/v1/entities/{hostile['ticket_id']}")

    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json["name"] == f"Tap {SCRIPT}"
    assert response.json["data"]["description"] == IMG


def test_a_hostile_csv_cell_is_defused_in_the_audit_export(app, hostile):
    browser = app.test_client()
    login(browser, "admin", PASSWORD)

    export = browser.get("/audit/export.csv").text

    assert "mallory<script>" in export  # CSV is data, not markup: kept as typed
    assert "\n=" not in export and ",=" not in export


# ------------------------------------------------------------------ in a real browser


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    try:
        options = services.chromium_launch_options()
    except services.ServiceUnavailable as exc:
        pytest.skip(str(exc))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)
        yield browser
        browser.close()


@pytest.mark.browser
def test_no_dialog_fires_on_any_page_showing_hostile_data(app, hostile, chromium):
    dialogs: list[str] = []
    with ThreadedServer(app) as server:
        context = chromium.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url + "/login")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.url + "/")
        for path in hostile["pages"]:
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            if path in hostile["screenshots"]:
                page.screenshot(path=ARTIFACTS / hostile["screenshots"][path], full_page=True)
        context.close()

    assert dialogs == []


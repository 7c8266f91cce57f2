"""The draft editor in a real Chromium: a config editor adds a state and a transition, sees the
checks and the diagram redrawn, publishes, and reads the diff (issue 18)."""
from __future__ import annotations

import pytest

from tests.browser.conftest import shot, sign_in
from tests.factories import load_packs, make_user
from tests.live_server import ThreadedServer
from webapp.core.changes.manager import StateManager
from webapp.extensions import db

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(app):
    StateManager.reset_instance()
    with app.app_context():
        load_packs(db.session)
        make_user(db.session, role="config_editor", username="cora")
    with ThreadedServer(app) as running:
        yield running
    StateManager.reset_instance()


def test_a_config_editor_adds_a_state_and_a_transition_publishes_and_reads_the_diff(page, server):
    expect = sync_api.expect
    sign_in(page, server.url, "cora")
    page.goto(server.url + "/workflows/ticket")
    page.get_by_role("link", name="Edit a draft").click()
    page.get_by_role("button", name="Start a draft from version 1").click()

    page.get_by_label("New state name").fill("TRIAGE")
    page.get_by_role("button", name="Add state").click()
    checks = page.locator("#draft-checks")
    expect(checks).to_contain_text("State 'TRIAGE' cannot be reached")
    expect(page.locator('#draft-diagram [data-state="TRIAGE"]')).to_have_class(
        "wf-node cat-active unreachable diff-added")

    for name, source, target in (("triage", "NEW", "TRIAGE"), ("accept", "TRIAGE", "OPEN")):
        form = page.locator("form.add-transition")
        form.get_by_label("Transition name").fill(name)
        form.get_by_label(source, exact=True).check()
        form.get_by_label("Goes to").select_option(target)
        form.get_by_role("button", name="Add transition").click()
        expect(page.locator(f'#draft-diagram path[data-transition="{name}"]')).to_have_count(1)

    expect(checks).to_contain_text("No problems")
    expect(checks).to_contain_text("Transition 'triage' added (NEW → TRIAGE).")
    shot(page, "workflow-draft-editor.png")

    page.get_by_label("Why this change").fill("Triage before work starts")
    page.get_by_role("button", name="Publish as version 2").click()
    page.wait_for_url("**/workflows/ticket/diff?**")
    expect(page.locator("#diff-words")).to_contain_text("State 'TRIAGE' added.")
    expect(page.locator("#diff-words")).to_contain_text("Transition 'accept' added (TRIAGE → OPEN).")
    expect(page.locator('#diagram [data-state="TRIAGE"]')).to_have_class(
        "wf-node cat-active diff-added")
    expect(page.locator(".flash-success")).to_contain_text("Published version 2.")
    shot(page, "workflow-diff.png")

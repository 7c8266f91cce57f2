"""The workflow pages in a real Chromium: the diagram, and a rule added in the editor that
then blocks a transition. Screenshots land in test-artifacts/ for a person to look at."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import PASSWORD, load_packs, make_entity, make_user
from tests.live_server import ThreadedServer
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import ROLES

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def server(app):
    """The app over HTTP with the built-in packs, a user per role and one new property."""
    StateManager.reset_instance()
    with app.app_context():
        manager = load_packs(db.session)
        for role in ROLES:
            make_user(db.session, role=role, username=role)
        app.config["PROPERTY_ID"] = make_entity(manager, db.session, Actor("seed", "admin"),
                                                "property", name="12 Elm Street").id
    with ThreadedServer(app) as running:
        yield running
    StateManager.reset_instance()


def sign_in(page, server, username: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")


def hold_move(page, server, app) -> dict:
    moves = page.request.get(
        f"{server.url}/api/v1/entities/{app.config['PROPERTY_ID']}/transitions").json()
    return next(m for m in moves if m["action"] == "hold")


def test_a_rule_added_in_the_editor_then_blocks_the_transition(app, page, server):
    sign_in(page, server, "config_editor")
    assert hold_move(page, server, app)["allowed"] is True
    page.goto(server.url + "/workflows/property")
    page.get_by_role("link", name="Edit hold").click()

    page.get_by_label("Add a rule of kind").select_option(label="Minimum age")
    page.get_by_role("button", name="Add rule…").click()
    days = page.get_by_label("Minimum age in days")
    days.fill("-5")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("Must not be negative.").wait_for()
    page.screenshot(path=ARTIFACTS / "workflow-rule-invalid.png", full_page=True, caret="initial")

    page.get_by_label("Minimum age in days").fill("30")
    page.get_by_role("button", name="Check").click()
    dry = page.locator(".wf-dry-check")
    dry.wait_for()
    assert "would block 1 of the 1 property now in available" in " ".join(dry.inner_text().split())
    page.screenshot(path=ARTIFACTS / "workflow-rule-check.png", full_page=True, caret="initial")
    assert hold_move(page, server, app)["allowed"] is True  # checking saved nothing

    page.get_by_role("button", name="Save rule").click()
    page.get_by_text("Saved (version 2).").wait_for()
    rules = page.locator(".wf-rules > li")
    assert rules.all_inner_texts() == [
        "Minimum age Only once it is at least 30 days old.\nEdit\nRemove"]
    page.screenshot(path=ARTIFACTS / "workflow-rule-saved.png", full_page=True, caret="initial")

    move = hold_move(page, server, app)
    assert move["allowed"] is False
    assert "it must be at least 30 days old to hold" in move["reasons"][0]


#: Where a label's letters are (its white halo may touch a neighbour's; the letters may not).
GLYPH_BOX = ("e => { const b = e.getBBox(); "
             "return {x: b.x, y: b.y, width: b.width, height: b.height}; }")


def test_the_workflow_pages_draw_readable_diagrams(page, server):
    sign_in(page, server, "auditor")
    for entity_type in ("work_order", "builder", "property", "task"):
        page.goto(f"{server.url}/workflows/{entity_type}")

        diagram = page.locator("svg.wf-diagram")
        width = diagram.bounding_box()["width"]
        assert width <= page.locator("#diagram").bounding_box()["width"], entity_type
        labels = diagram.locator(".wf-edge-label").all()
        rects = [(label.text_content(), label.evaluate(GLYPH_BOX)) for label in labels]
        assert [(entity_type, a, b) for i, (a, ra) in enumerate(rects)
                for b, rb in rects[i + 1:] if _overlap(ra, rb)] == []
        diagram.screenshot(path=ARTIFACTS / f"workflow-diagram-{entity_type}.png",
                           caret="initial")
        page.screenshot(path=ARTIFACTS / f"workflow-{entity_type}.png", full_page=True,
                        caret="initial")


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] - 1 and b["x"] < a["x"] + a["width"] - 1
            and a["y"] < b["y"] + b["height"] - 1 and b["y"] < a["y"] + a["height"] - 1)


def test_the_workflow_list_and_a_narrow_window_stay_usable(page, server):
    sign_in(page, server, "admin")
    page.goto(server.url + "/workflows/")
    page.screenshot(path=ARTIFACTS / "workflows-list.png", full_page=True, caret="initial")
    page.goto(server.url + "/workflows/builder#cascades")
    page.locator("#cascades").screenshot(path=ARTIFACTS / "workflow-cascades-editor.png",
                                         caret="initial")

    page.set_viewport_size({"width": 480, "height": 900})
    page.goto(server.url + "/workflows/task")
    # The diagram scrolls inside its card; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 480
    page.screenshot(path=ARTIFACTS / "workflow-task-narrow.png", caret="initial")
    page.goto(server.url + "/workflows/property/transitions/hold")
    page.get_by_role("button", name="Add rule…").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Minimum age in days").wait_for()
    page.screenshot(path=ARTIFACTS / "workflow-editor-narrow.png", full_page=True, caret="initial")


def test_importing_a_broken_file_lists_its_problems(page, server):
    sign_in(page, server, "config_editor")
    page.goto(server.url + "/workflows/")
    page.get_by_role("link", name="Import a workflow file").click()
    broken = (b'{"pack": "custom", "types": {"gadget": {"initial": "new", "states": '
              b'{"new": {}, "old": {}}, "transitions": [{"name": "age", "from": ["new"], '
              b'"to": "ancient"}]}}}')

    page.get_by_label("Workflow file (.json)").set_input_files(
        files=[{"name": "gadget.json", "mimeType": "application/json", "buffer": broken}])
    page.get_by_role("button", name="Check and import").click()

    alert = page.get_by_role("alert")
    assert "Nothing was imported" in alert.inner_text()
    assert "gadget: Transition 'age' names unknown state 'ancient'." in alert.inner_text()
    page.screenshot(path=ARTIFACTS / "workflow-import-problems.png", full_page=True,
                    caret="initial")

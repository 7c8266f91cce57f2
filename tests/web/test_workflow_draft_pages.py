"""The draft editor, the version list, one version and the diff page (CONTRACT §10)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import load_packs, make_realestate
from tests.helpers import csrf_token
from webapp.core.base.actor import Actor
from webapp.extensions import db
from webapp.models import Entity, StatusChange, WorkflowVersion

HTMX = {"HX-Request": "true"}
DRAFT = "/workflows/property/draft"
SEEDER = Actor("seeder", "admin")


@pytest.fixture
def manager(app):
    with app.app_context():  # closed again: each request must open its own context
        return load_packs(db.session)


@pytest.fixture
def editor(manager, login_as):
    browser = login_as("config_editor")
    page = browser.get(DRAFT).text
    browser.post(DRAFT, data={"csrf_token": csrf_token(page)})
    return browser


def edit(browser, **form):
    token = csrf_token(browser.get(DRAFT).text)
    return browser.post(f"{DRAFT}/edit", data={"csrf_token": token, **form}, headers=HTMX)


def test_adding_a_state_and_a_transition_redraws_the_diagram_and_the_checks(editor):
    added = edit(editor, op="add_state", name="inspection", label="Inspection")

    assert added.status_code == 200
    assert 'id="draft-panel"' in added.text and "<html" not in added.text
    assert 'data-state="inspection"' in added.text and "diff-added" in added.text
    assert "State &#39;inspection&#39; cannot be reached" in added.text

    linked = edit(editor, op="set_transition", name="inspect", to="inspection",
                  **{"from": ["available"]})
    back = edit(editor, op="set_transition", name="pass_inspection", to="available",
                **{"from": ["inspection"]})

    assert linked.status_code == back.status_code == 200
    assert 'data-transition="inspect"' in back.text
    assert "No problems" in back.text
    assert "Transition &#39;inspect&#39; added (available → inspection)." in back.text


def test_a_bad_name_is_answered_in_the_panel_and_nothing_changes(editor):
    answer = edit(editor, op="add_state", name="9 lives")

    assert answer.status_code == 422
    assert "letters, digits and _" in answer.text
    assert 'data-state="9 lives"' not in answer.text


def test_renaming_a_state_prefills_the_mapping_and_publishing_moves_its_entities(
        app, editor, manager):
    with app.app_context():
        made = make_realestate(manager, db.session, SEEDER, properties=3, reps=0)
        ids = [p.id for p in made.properties]
        for pid in ids[:2]:
            manager.transition(db.session, SEEDER, pid, "reserved")

    renamed = edit(editor, op="rename_state", state="reserved", new_name="on_hold")
    assert "2</strong> in reserved" in renamed.text
    assert '<option value="on_hold" selected>' in renamed.text

    token = csrf_token(editor.get(DRAFT).text)
    refused = editor.post(f"{DRAFT}/publish", data={"csrf_token": token}, headers=HTMX)
    assert refused.status_code == 422
    assert "2 properties are in &#39;reserved&#39;" in refused.text

    done = editor.post(f"{DRAFT}/publish", data={"csrf_token": token, "map-reserved": "on_hold",
                                                 "comment": "clearer name"}, headers=HTMX)
    assert done.status_code == 204
    assert done.headers["HX-Redirect"].startswith("/workflows/property/diff?")
    with app.app_context():
        assert {db.session.get(Entity, i).status for i in ids[:2]} == {"on_hold"}
        assert db.session.scalar(select(StatusChange.source).where(
            StatusChange.entity_id == ids[0]).order_by(StatusChange.id.desc())) == "migration"

    page = editor.get(done.headers["HX-Redirect"]).text
    assert "State &#39;reserved&#39; removed." in page and "State &#39;on_hold&#39; added." in page
    assert "diff-removed\" data-state=\"reserved\"" in page


def test_versions_list_one_version_and_restoring_it_as_the_draft(app, editor):
    edit(editor, op="set_state", state="pending", label="Pending offer", category="active")
    token = csrf_token(editor.get(DRAFT).text)
    editor.post(f"{DRAFT}/publish", data={"csrf_token": token, "comment": "relabel"})

    listing = editor.get("/workflows/property/versions").text
    assert "relabel" in listing and "v2" in listing and "in force" in listing
    assert "Pending offer" not in editor.get("/workflows/property/versions/1").text
    restored = editor.post("/workflows/property/versions/1/restore",
                           data={"csrf_token": csrf_token(listing)})
    assert restored.status_code == 302
    draft = editor.get(DRAFT).text
    assert "State &#39;pending&#39; changed: label Pending offer → Pending." in draft
    with app.app_context():
        assert db.session.scalar(select(WorkflowVersion.version).order_by(
            WorkflowVersion.version.desc()).where(WorkflowVersion.entity_type == "property")) == 2


def test_support_reads_versions_but_may_not_edit_drafts(manager, login_as):
    support = login_as("support")

    assert support.get("/workflows/property/versions").status_code == 200
    assert support.get(DRAFT).status_code == 403
    token = csrf_token(support.get("/workflows/property/versions").text)
    assert support.post(f"{DRAFT}/edit", data={"csrf_token": token, "op": "add_state",
                                               "name": "x"}).status_code == 403


def test_an_edit_without_its_csrf_token_is_refused(editor):
    answer = editor.post(f"{DRAFT}/edit", data={"op": "add_state", "name": "sneaky"})

    assert answer.status_code == 400
    assert "sneaky" not in editor.get(DRAFT).text


def test_a_large_move_runs_in_the_background_with_a_progress_bar_then_goes_to_the_diff(
        app, editor, manager):
    from webapp.workers import publish_runner

    with app.app_context():
        made = make_realestate(manager, db.session, SEEDER, properties=3, reps=0)
        ids = [p.id for p in made.properties]
        for pid in ids:
            manager.transition(db.session, SEEDER, pid, "reserved")
    app.config["PUBLISH_IN_BACKGROUND_ABOVE"] = 2
    edit(editor, op="remove_state", state="reserved")
    token = csrf_token(editor.get(DRAFT).text)

    started = editor.post(f"{DRAFT}/publish", data={"csrf_token": token,
                                                    "map-reserved": "pending"}, headers=HTMX)

    assert started.status_code == 202
    assert "<progress" in started.text and "of 3 entities moved" in started.text
    poll = started.text.split('hx-get="')[1].split('"')[0]
    assert publish_runner.wait(poll.rsplit("/", 1)[1])
    done = editor.get(poll, headers=HTMX)
    assert done.status_code == 204
    assert done.headers["HX-Redirect"].startswith("/workflows/property/diff?")
    with app.app_context():
        assert {db.session.get(Entity, i).status for i in ids} == {"pending"}


@pytest.mark.parametrize("form, says", [
    ({"op": "set_part", "part": "slas", "value": '{"nope": 1}'}, "slas"),
    ({"op": "set_part", "part": "rules:hold", "value": "[1, 2"}, "not valid JSON"),
    ({"op": "set_part", "part": "rules:ghost", "value": "[]"}, "transition is gone"),
    ({"op": "set_state", "state": "pending", "category": "weird"}, "Unknown category"),
    ({"op": "set_state", "state": "pending", "category": "active", "timeout_action": "release",
      "timeout_hours": "soon"}, "Hours must be a number"),
    ({"op": "remove_state", "state": "ghost"}, "no state"),
    ({"op": "set_transition", "name": "x", "to": "pending", "from": "available",
      "roles": "auditor"}, "Unknown role"),
    ({"op": "explode"}, "Unknown edit"),
])
def test_bad_edits_are_answered_in_the_panel(editor, form, says):
    answer = edit(editor, **form)

    assert answer.status_code == 422
    assert says in answer.text
    assert 'id="draft-panel"' in answer.text


def test_bad_version_addresses_get_pages_not_errors(editor):
    assert editor.get("/workflows/property/versions/99").status_code == 404
    assert editor.get("/workflows/property/versions/99999999999").status_code == 404
    assert editor.get("/workflows/property/diff?from=1&to=42").status_code == 404
    assert editor.get("/workflows/property/diff?from=x").status_code == 302
    assert editor.get("/workflows/spaceship/versions").status_code == 404

"""Cascade loops as people and programs meet them: the editor refuses the cascade that would
close a loop, and a change that runs into a loop anyway is a 422 that writes nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import load_packs, make_entity, make_token, make_user
from tests.helpers import csrf_token
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import editing as edit
from webapp.core.workflows.definition import to_document
from webapp.extensions import db
from webapp.models import StatusChange, WorkflowDefinition

ADMIN = Actor("ada", "admin")
HTMX = {"HX-Request": "true"}
BUILDER = "/workflows/builder"
#: Suspending a builder makes its active reps inactive: the cascade that closes the loop.
CLOSING = {"on_enter": "suspended", "path": "sales_rep", "from_states": "active",
           "to": "inactive"}
LOOP = ("The cascades loop: builder active → sales rep active → builder suspended → "
        "sales rep inactive → builder active; a change there could go round for ever.")


def half_a_loop(doc: dict) -> dict:
    """A suspended builder without active reps becomes active; an active builder's inactive
    reps become active; an active builder without inactive reps is suspended. Harmless until
    suspending a builder also makes its reps inactive."""
    doc["cascades"].append(
        {"on_enter": "active", "path": ["sales_rep"], "from": ["inactive"], "to": "active"})
    doc["derived"] = [
        {"child_type": "sales_rep", "count_states": ["active"], "trigger_states": ["inactive"],
         "applies_in": ["suspended"], "thresholds": [{"at_most": 0, "to": "active"}]},
        {"child_type": "sales_rep", "count_states": ["inactive"], "trigger_states": ["active"],
         "applies_in": ["active"], "thresholds": [{"at_most": 0, "to": "suspended"}]}]
    return doc


@pytest.fixture
def manager(app):
    with app.app_context():
        manager = load_packs(db.session)
        doc = half_a_loop(to_document(manager.workflow(db.session, "builder")))
        edit.save(db.session, manager.workflows, "builder", doc, ADMIN, manager.clock(), 1,
                  "half a loop")
    return manager


def builder_version(app) -> int:
    with app.app_context():
        return db.session.scalar(select(WorkflowDefinition.version)
                                 .where(WorkflowDefinition.entity_type == "builder"))


def post(browser, url: str, **form: object):
    page = browser.get(BUILDER).text
    data = {"csrf_token": csrf_token(page),
            "version": re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)}
    return browser.post(url, data=data | {k: str(v) for k, v in form.items()}, headers=HTMX)


def test_the_editor_shows_the_loop_a_cascade_would_close_and_does_not_save_it(
        app, manager, login_as):
    editor = login_as("config_editor")

    checked = post(editor, BUILDER + "/cascades", intent="check", **CLOSING)
    saved = post(editor, BUILDER + "/cascades", intent="save", **CLOSING)

    assert checked.status_code == 200 and LOOP in checked.text
    assert saved.status_code == 422 and LOOP in saved.text
    assert builder_version(app) == 2  # the half loop only


def test_a_transition_into_a_loop_that_slipped_in_is_a_422_and_changes_nothing(app, manager):
    with app.app_context(), write_transaction(db.session):
        row = db.session.scalar(select(WorkflowDefinition)
                                .where(WorkflowDefinition.entity_type == "builder"))
        row.definition = edit.add_cascade(row.definition, edit.Cascade(
            "suspended", ("sales_rep",), ("active",), "inactive"))
    with app.app_context():
        builder = make_entity(manager, db.session, ADMIN, "builder", name="Acme Homes").id
        make_entity(manager, db.session, ADMIN, "sales_rep", name="Bo", parent_id=builder)
        token = make_token(db.session, make_user(db.session, role="support"))
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}

    answer = client.post(f"/api/v1/entities/{builder}/transition", json={"to": "suspended"},
                         headers=headers)

    message = ("The cascades loop: builder 'Acme Homes' suspended → sales rep 'Bo' inactive → "
               "builder 'Acme Homes' active → sales rep 'Bo' active → builder 'Acme Homes' "
               "suspended; the change was not made.")
    assert answer.status_code == 422
    assert answer.json == {"error": "invalid_transition", "message": message,
                           "messages": [message]}
    assert client.get(f"/api/v1/entities/{builder}", headers=headers).json["status"] == "active"
    with app.app_context():
        assert db.session.scalars(select(StatusChange.source)).all() == ["api", "api"]

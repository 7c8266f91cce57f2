"""The workflow editor sets who must approve a transition (CONTRACT §9), and the workflow
page says so."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import load_packs
from tests.helpers import csrf_token
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import WorkflowDefinition

HOLD = "/workflows/property/transitions/hold"


@pytest.fixture
def admin(app, login_as):
    StateManager.reset_instance()
    with app.app_context():
        load_packs(db.session)
    yield login_as("admin")
    StateManager.reset_instance()


def _post(browser, **form):
    page = browser.get(HOLD).text
    data = {"csrf_token": csrf_token(page),
            "version": re.search(r'name="version"[^>]*value="(\d+)"', page).group(1), **form}
    return browser.post(HOLD + "/options", data=data, headers={"HX-Request": "true"})


def _hold(app) -> dict:
    with app.app_context():
        doc = db.session.scalar(select(WorkflowDefinition.definition)
                                .where(WorkflowDefinition.entity_type == "property"))
    return next(t for t in doc["transitions"] if t["name"] == "hold")


def test_the_editor_adds_and_removes_an_approval(app, admin):
    assert "Needs approval by" in admin.get(HOLD).text

    added = _post(admin, approval_roles=["admin", "config_editor"])

    assert added.status_code == 200, added.text
    assert "needs approval by admin, config_editor" in added.text
    assert _hold(app)["approval"] == {"roles": ["admin", "config_editor"]}
    assert "approval by admin or config_editor" in admin.get("/workflows/property").text

    assert _post(admin).status_code == 200
    assert "approval" not in _hold(app)


def test_an_unknown_role_is_refused(app, admin):
    refused = _post(admin, approval_roles="boss")

    assert refused.status_code == 422
    assert "not a valid choice" in refused.text
    assert "approval" not in _hold(app)

"""The New page of a user account refuses an email another account has (sensitive and unique:
compared by its blind index) beside the email input, keeping what was typed."""
from __future__ import annotations

import html
import re

import pytest

from tests.factories import load_packs, make_entity
from tests.helpers import csrf_token
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import Entity

SEEDER = Actor("seeder", "admin")


@pytest.fixture
def ann(app) -> int:
    StateManager.reset_instance()
    with app.app_context():
        sm = load_packs(db.session)
        entity_id = make_entity(sm, db.session, SEEDER, "user_account", name="Ann",
                                data={"email": "ann@example.org"}).id
    yield entity_id
    StateManager.reset_instance()


def test_a_taken_email_is_refused_beside_the_email_input(app, ann, login_as):
    support = login_as("support")
    token = csrf_token(support.get("/entities/new/user_account").text)

    answer = support.post("/entities/new/user_account", data={
        "csrf_token": token, "name": "Ann again", "data-email": "ANN@example.org"})

    assert answer.status_code == 400
    text = html.unescape(answer.text)
    assert "Email must be unique: another user account has 'ANN@example.org'." in text
    assert re.search(r'value="ANN@example.org"', text)
    with app.app_context():
        assert db.session.query(Entity).filter_by(type="user_account").count() == 1

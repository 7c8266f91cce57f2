"""The browser's workflow import asks before a change of fields that stored entities would not
pass: values a newly unique field holds twice, encrypted values the check cannot read, and an
"Import anyway" imports only the document whose report the person saw, as it still stands."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from tests.factories import load_packs, make_entity
from tests.helpers import csrf_token
from tests.web.test_workflow_import_impact import import_anyway
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import WorkflowDefinition

SEEDER = Actor("seeder", "admin")


@pytest.fixture
def tickets(app):
    """Three tickets: two for the same customer name; every one with a customer email."""
    StateManager.reset_instance()
    with app.app_context():
        sm = load_packs(db.session)
        ids = [make_entity(sm, db.session, SEEDER, "ticket", data={
            "priority": "LOW", "customer_name": name, "customer_email": f"{name}@example.org"}).id
            for name in ("Ann", "Benedict", "ann")]
    yield ids
    StateManager.reset_instance()


def ticket_file(app, **field_changes) -> bytes:
    """The ticket workflow as stored, with some of its fields' declarations changed."""
    with app.app_context():
        stored = db.session.scalar(select(WorkflowDefinition.definition)
                                   .where(WorkflowDefinition.entity_type == "ticket"))
    ticket = json.loads(json.dumps(stored))
    for name, changes in field_changes.items():
        ticket["fields"][name].update(changes)
    return json.dumps({"pack": "facilities", "types": {"ticket": ticket}}, indent=2).encode()


def version(app) -> int:
    with app.app_context():
        return db.session.scalar(select(WorkflowDefinition.version)
                                 .where(WorkflowDefinition.entity_type == "ticket"))


def upload(client, content: bytes):
    token = csrf_token(client.get("/workflows/import").text)
    return client.post("/workflows/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(content), "t.json")})


def test_making_an_encrypted_field_unique_asks_first_when_its_values_cannot_be_compared(
        app, tickets, admin_client):
    before = version(app)

    report = upload(admin_client, ticket_file(app, customer_email={"unique": True}))

    assert report.status_code == 200 and "Import anyway" in report.text
    assert "customer_email: 3 encrypted values were not checked" in report.text
    assert version(app) == before


def test_names_that_differ_in_case_are_two_values_and_import_at_once(app, tickets, admin_client):
    before = version(app)

    response = upload(admin_client, ticket_file(app, customer_name={"unique": True}))

    assert response.status_code == 302 and version(app) == before + 1  # "Ann" and "ann"


def test_a_text_value_held_twice_is_reported_with_both_entities(app, tickets, admin_client):
    with app.app_context():
        sm = StateManager.get_instance()
        twin = make_entity(sm, db.session, SEEDER, "ticket",
                           data={"priority": "LOW", "customer_name": "Benedict"}).id

    report = upload(admin_client, ticket_file(app, customer_name={"unique": True}))

    assert report.status_code == 200
    assert (f"ticket: customer_name: 1 entity holds a value the new fields refuse (e.g. #{twin} "
            f"&#39;Benedict&#39;: Customer must be unique: #{tickets[1]} has the same value.)"
            ) in report.text


def test_a_new_constraint_on_an_encrypted_field_asks_first(app, tickets, admin_client):
    before = version(app)

    report = upload(admin_client, ticket_file(app, customer_email={"max_length": 10}))

    assert report.status_code == 200
    assert ("ticket: customer_email: 3 encrypted values were not checked (the check cannot read "
            "them); the new declaration may refuse them.") in report.text
    assert version(app) == before
    confirmed = admin_client.post("/workflows/import", data={
        "csrf_token": csrf_token(report.text), **import_anyway(report.text)})
    assert confirmed.status_code == 302 and version(app) == before + 1


def test_a_label_change_of_an_encrypted_field_imports_at_once(app, tickets, admin_client):
    before = version(app)

    response = upload(admin_client, ticket_file(app, customer_email={"label": "Email"}))

    assert response.status_code == 302 and version(app) == before + 1


def test_import_anyway_with_another_document_than_the_one_reported_asks_again(
        app, tickets, admin_client):
    before = version(app)
    report = upload(admin_client, ticket_file(app, customer_name={"max_length": 5}))
    sent = import_anyway(report.text)
    sent["document"] = ticket_file(app, customer_name={"max_length": 2}).decode()

    again = admin_client.post("/workflows/import", data={
        "csrf_token": csrf_token(report.text), **sent})

    assert again.status_code == 200 and "Import anyway" in again.text
    assert "3 entities hold a value the new fields refuse" in again.text
    assert version(app) == before


def test_import_anyway_asks_again_when_more_entities_would_be_refused_since(
        app, tickets, admin_client):
    before = version(app)
    report = upload(admin_client, ticket_file(app, customer_name={"max_length": 5}))
    with app.app_context():
        make_entity(StateManager.get_instance(), db.session, SEEDER, "ticket",
                    data={"priority": "LOW", "customer_name": "Maximilian"})

    again = admin_client.post("/workflows/import", data={
        "csrf_token": csrf_token(report.text), **import_anyway(report.text)})

    assert again.status_code == 200 and "2 entities hold a value" in again.text
    assert version(app) == before

"""Importing a workflow file that changes a type's fields: the import page and the command
line first say how many stored entities the new fields would refuse, by field; the page
imports only on a second confirmation, and nothing stored is rewritten."""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from sqlalchemy import select

from tests.factories import load_packs, make_entity
from tests.helpers import csrf_token
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import Entity, WorkflowDefinition

SEEDER = Actor("seeder", "admin")


@pytest.fixture
def tickets(app):
    """The packs, and three tickets whose customer names are 3, 8 and 11 characters long."""
    StateManager.reset_instance()
    with app.app_context():
        sm = load_packs(db.session)
        ids = [make_entity(sm, db.session, SEEDER, "ticket",
                           data={"priority": "LOW", "customer_name": name}).id
               for name in ("Ann", "Benedict", "Christopher")]
    yield ids
    StateManager.reset_instance()


def shorter_names(app, max_length: int = 5) -> bytes:
    """The ticket workflow as stored, with customer names now at most ``max_length`` long."""
    with app.app_context():
        stored = db.session.scalar(select(WorkflowDefinition.definition)
                                   .where(WorkflowDefinition.entity_type == "ticket"))
    ticket = json.loads(json.dumps(stored))
    ticket["fields"]["customer_name"]["max_length"] = max_length
    return json.dumps({"pack": "facilities", "types": {"ticket": ticket}}, indent=2).encode()


def stored_ticket(app):
    with app.app_context():
        row = db.session.scalar(select(WorkflowDefinition)
                                .where(WorkflowDefinition.entity_type == "ticket"))
        return row.version, row.definition["fields"]["customer_name"].get("max_length")


def import_anyway(page: str) -> dict[str, str]:
    """The hidden fields the "Import anyway" button sends back, as a browser would."""
    return {name: html.unescape(value) for name, value in re.findall(
        r'name="(document|confirmed)" type="hidden" value="([^"]*)"', page)}


def upload(client, content: bytes):
    token = csrf_token(client.get("/workflows/import").text)
    return client.post("/workflows/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(content), "t.json")})


def test_the_page_reports_the_entities_the_new_fields_refuse_and_imports_only_when_confirmed(
        app, tickets, admin_client):
    version, _ = stored_ticket(app)

    report = upload(admin_client, shorter_names(app))

    assert report.status_code == 200
    assert ("ticket: customer_name: 2 entities hold a value the new fields refuse (e.g. "
            f"#{tickets[1]} &#39;Benedict&#39;: Customer must be at most 5 characters") in report.text
    assert "Import anyway" in report.text
    assert stored_ticket(app) == (version, 200)  # nothing saved yet

    confirmed = admin_client.post("/workflows/import", data={   # "Import anyway"
        "csrf_token": csrf_token(report.text), **import_anyway(report.text)})

    assert confirmed.status_code == 302
    assert stored_ticket(app) == (version + 1, 5)
    with app.app_context():  # nothing stored was rewritten
        assert db.session.get(Entity, tickets[2]).data["customer_name"] == "Christopher"


def test_a_change_no_stored_entity_violates_imports_at_once(app, tickets, admin_client):
    version, _ = stored_ticket(app)

    response = upload(admin_client, shorter_names(app, max_length=20))

    assert response.status_code == 302
    assert stored_ticket(app) == (version + 1, 20)


def test_the_command_line_prints_the_report_and_imports(app, tickets, tmp_path):
    path = tmp_path / "ticket.json"
    path.write_bytes(shorter_names(app))

    result = app.test_cli_runner().invoke(args=["workflows", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "Warning: ticket: customer_name: 2 entities hold a value" in result.output
    assert "Imported: ticket" in result.output
    assert stored_ticket(app)[1] == 5

"""Migration 0010: a workflow stored with the legacy ``enum`` field constraint still loads."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import utcnow

LEGACY_TICKET = {
    "label": "Ticket", "initial": "NEW",
    "states": {"NEW": {"category": "active"}, "CLOSED": {"category": "closed", "terminal": True}},
    "transitions": [{"name": "close", "from": ["NEW"], "to": "CLOSED"}],
    "fields": {"priority": {"enum": ["LOW", "HIGH"]}, "notes": {"max": 3}},
}
WORKFLOWS = sa.table("workflow_definitions", sa.column("entity_type"), sa.column("pack"),
                     sa.column("definition", sa.JSON), sa.column("version"),
                     sa.column("updated_at", sa.DateTime), sa.column("updated_by"))


def store_legacy_ticket(app: Flask) -> None:
    with app.app_context():
        upgrade(revision="0009")
        with db.engine.begin() as conn:
            conn.execute(WORKFLOWS.insert().values(
                entity_type="ticket", pack="facilities", definition=LEGACY_TICKET, version=1,
                updated_at=utcnow().replace(tzinfo=None), updated_by="old"))


def test_a_stored_enum_constraint_becomes_a_choice_field_and_the_workflow_loads(make_app):
    app = make_app(migrate=False)
    store_legacy_ticket(app)

    with app.app_context():
        upgrade()
        wf = StateManager.get_instance().workflow(db.session, "ticket")

    assert wf.fields["priority"].type == "choice"
    assert wf.fields["priority"].choices == ("LOW", "HIGH")
    assert wf.fields["notes"].type == "text"


def test_the_downgrade_gives_the_choices_back_as_enum(make_app):
    app = make_app(migrate=False)
    store_legacy_ticket(app)

    with app.app_context():
        upgrade()
        downgrade(revision="0009")
        with db.engine.connect() as conn:
            stored = conn.scalar(sa.select(WORKFLOWS.c.definition))

    assert stored["fields"] == {"priority": {"enum": ["LOW", "HIGH"]}}

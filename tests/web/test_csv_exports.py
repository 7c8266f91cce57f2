"""Both CSV exports (entities, audit log) go through one writer: a name that looks like a
spreadsheet formula comes out as plain text in each."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import csv
import io

import pytest

from tests.factories import make_audit_entries
from tests.web.entities_fixtures import create, fresh_state_manager, sm  # noqa: F401 - fixtures
from webapp.core.base.actor import Actor
from webapp.extensions import db

FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.mark.parametrize("name", FORMULAS)
def test_the_entity_export_writes_a_formula_looking_name_as_text(admin_client, create, name):
    create("builder", name)

    [row] = rows_of(admin_client.get("/entities/export.csv?type=builder"))

    assert row["name"] == "'" + name
    assert row["status"] == "active" and row["parent_id"] == ""


@pytest.mark.parametrize("name", FORMULAS)
def test_the_audit_export_writes_a_formula_looking_actor_and_message_as_text(
        app, login_as, clock, name):
    auditor = login_as("auditor")
    with app.app_context():
        make_audit_entries(db.session, 1, clock(), Actor(name, "admin"), message=name)

    rows = rows_of(auditor.get("/audit/export.csv?event_type=test.event"))

    assert [(r["actor"], r["message"]) for r in rows] == [("'" + name, "'" + name)]

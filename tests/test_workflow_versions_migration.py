"""Migration 0018: every workflow stored before it becomes its own first kept version."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from webapp.extensions import db
from webapp.models import utcnow


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_stored_workflows_become_their_own_first_versions(request, make_app, database):
    url = None
    if database == "postgres":
        url = request.getfixturevalue("postgres_server").create_database("wfv_migration")
    app = make_app(url, migrate=False)
    doc = {"initial": "a", "states": {"a": {"label": "A"}}, "transitions": []}
    with app.app_context():
        upgrade(revision="0017")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO workflow_definitions (entity_type, pack, definition, version, "
                "updated_at, updated_by) VALUES ('gadget', 'custom', :d, 4, :t, 'old hand')"),
                {"d": json.dumps(doc), "t": utcnow().replace(tzinfo=None)})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT entity_type, version, actor, definition FROM workflow_versions")).all()

    assert [(r[0], r[1], r[2]) for r in rows] == [("gadget", 4, "old hand")]
    stored = rows[0][3]
    assert (json.loads(stored) if isinstance(stored, str) else stored) == doc

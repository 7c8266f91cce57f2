"""`flask counts verify [--fix]`, and migration 0012 filling the counts from the entities, on
SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.factories import kept_counts
from webapp.extensions import db
from webapp.models import utcnow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request):
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


def test_verify_reports_drift_with_a_failing_exit_and_fix_repairs_it(any_app):
    runner = any_app.test_cli_runner()
    with any_app.app_context():  # a plain command: `flask` pushes the context, the runner not
        assert runner.invoke(args=["seed-demo", "--size", "60"]).exit_code == 0
    clean = runner.invoke(args=["counts", "verify"])
    with any_app.app_context():
        db.session.execute(sa.text("UPDATE entity_counts SET n = n + 2 "
                                   "WHERE type = 'property' AND status = 'available'"))
        db.session.commit()

    drifted = runner.invoke(args=["counts", "verify"])
    fixed = runner.invoke(args=["counts", "verify", "--fix"])
    after = runner.invoke(args=["counts", "verify"])

    assert clean.exit_code == 0 and "Counts match the entities." in clean.output
    assert drifted.exit_code == 1
    assert "property available: kept " in drifted.output and "(+2)" in drifted.output
    assert "--fix" in drifted.output
    assert fixed.exit_code == 0 and "Repaired 1 count(s)." in fixed.output
    assert after.exit_code == 0 and "Counts match the entities." in after.output


ENTITIES = sa.table("entities", *(sa.column(c) for c in (
    "type", "name", "status", "version", "data", "last_activity_at", "status_changed_at",
    "created_at", "updated_at")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated_app(request, make_app):
    """An app on an empty database: its own SQLite file, or its own PostgreSQL database."""
    if request.param == "sqlite":
        return make_app(migrate=False)
    server = request.getfixturevalue("postgres_server")
    return make_app(server.create_database(f"counts_{uuid.uuid4().hex[:12]}"), migrate=False)


def test_the_migration_counts_the_entities_already_there_and_downgrades(unmigrated_app):
    now = utcnow().replace(tzinfo=None)
    rows = [{"type": t, "name": f"{t} {i}", "status": s, "version": 1, "data": "{}",
             "last_activity_at": now, "status_changed_at": now, "created_at": now,
             "updated_at": now} for i, (t, s) in enumerate(
        [("builder", "active")] * 3 + [("builder", "merged")] + [("ticket", "NEW")] * 2)]
    with unmigrated_app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as conn:
            conn.execute(ENTITIES.insert(), rows)
        upgrade(revision="0012")
        counted = kept_counts(db.session)
        db.session.rollback()
        downgrade(revision="0011")
        left = sa.inspect(db.engine).get_table_names()

    assert counted == {("builder", "active"): 3, ("builder", "merged"): 1, ("ticket", "NEW"): 2}
    assert "entity_counts" not in left

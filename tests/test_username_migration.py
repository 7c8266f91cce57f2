"""Migration 0009 on SQLite (and on PostgreSQL through the shared helper): usernames become
lower case, names that differed only in case are told apart and reported, and everyone
signs in with the name they can be told."""
from __future__ import annotations

import logging
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from tests.factories import PASSWORD
from tests.helpers import login
from webapp.core.users import accounts
from webapp.extensions import db
from webapp.models import utcnow
from webapp.models.base import UTCDateTime

#: Accounts as 0008 allowed them (in this order of ids).
BEFORE = ["Admin", "admin", "Bob", "BOB", "bob-4", "Eve <b>x</b>", "carol"]
#: What each becomes.
AFTER = {1: "admin-1", 2: "admin", 3: "bob", 4: "bob-4-2", 5: "bob-4", 6: "eve <b>x</b>",
         7: "carol"}

_users = sa.table("users", *(sa.column(name) for name in (
    "id", "username", "password_hash", "role", "is_enabled", "failed_logins")),
    sa.column("created_at", UTCDateTime()))


def names_after_the_upgrade(app: Flask) -> dict[int, str]:
    """Migrate to 0008, add BEFORE as that schema allowed, upgrade; the names by id."""
    with app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as conn:
            conn.execute(_users.insert(), [{
                "id": i, "username": name, "password_hash": accounts.hash_password(PASSWORD),
                "role": "admin", "is_enabled": True, "failed_logins": 0, "created_at": utcnow()}
                for i, name in enumerate(BEFORE, 1)])
        upgrade()
        with db.engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT id, username FROM users")).all())


def check_the_upgrade(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    reports = logging.getLogger("statekeeper.migrations")
    reports.addHandler(caplog.handler)  # env.py's fileConfig replaces the root's handlers
    try:
        assert names_after_the_upgrade(app) == AFTER
    finally:
        reports.removeHandler(caplog.handler)

    reported = caplog.text
    assert "'Admin' (user 1) became 'admin-1'" in reported
    assert "'BOB' (user 4) became 'bob-4-2'" in reported
    assert "'eve <b>x</b>' (user 6) has characters new names may not have" in reported
    for name in ("admin", "ADMIN-1", "Bob", "bob-4-2", "Eve <b>x</b>"):
        browser = app.test_client()
        assert login(browser, name, PASSWORD).status_code == 302, name
        assert browser.get("/api/v1/me").json["username"] == name.lower()


def check_the_downgrade(app: Flask) -> None:
    with app.app_context():
        downgrade(revision="0008")
        tables = sa.inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            names = set(conn.scalars(sa.text("SELECT username FROM users")))
    assert "browser_sessions" not in tables
    assert names == set(AFTER.values())  # still lower case: the old case is not kept


def test_usernames_become_lower_case_and_clashes_are_renamed_and_reported_on_sqlite(
        make_app, caplog):
    check_the_upgrade(make_app(migrate=False), caplog)


def test_the_downgrade_drops_the_sessions_and_keeps_the_names_on_sqlite(make_app):
    app = make_app(migrate=False)
    names_after_the_upgrade(app)

    check_the_downgrade(app)


@pytest.mark.postgres
def test_usernames_become_lower_case_and_clashes_are_renamed_and_reported_on_postgres(
        make_app, postgres_server, caplog):
    app = make_app(postgres_server.create_database(f"names_{uuid.uuid4().hex[:8]}"),
                   migrate=False)

    check_the_upgrade(app, caplog)
    check_the_downgrade(app)

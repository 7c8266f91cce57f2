"""The Alembic migrations on SQLite (tests/integration/test_postgres.py does PostgreSQL)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from tests.factories import PASSWORD
from tests.helpers import differences_from_models, login, upgrade_downgrade_upgrade
from webapp.core.users import accounts
from webapp.extensions import db
from webapp.models import Base, utcnow
from webapp.models.base import UTCDateTime


def test_migrations_upgrade_downgrade_to_nothing_and_upgrade_again_on_sqlite(make_app):
    head, base, again = upgrade_downgrade_upgrade(make_app(migrate=False))

    assert set(Base.metadata.tables) <= set(head)
    assert set(base) == {"alembic_version"}
    assert again == head


def test_the_migrations_build_exactly_what_the_models_declare_on_sqlite(app):
    with app.app_context():
        assert differences_from_models(db.engine) == []


def a_user_from_before_session_versions_signs_in_after_the_upgrade(app: Flask) -> None:
    """Migrate to 0004, add a user as that schema knows them, upgrade, sign in (shared with
    the PostgreSQL test): the new column fills existing rows with its server default."""
    users = sa.table("users", *(sa.column(name) for name in (
        "username", "password_hash", "role", "is_enabled", "failed_logins")),
        sa.column("created_at", UTCDateTime()))
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as conn:
            conn.execute(users.insert().values(
                username="olga", password_hash=accounts.hash_password(PASSWORD), role="auditor",
                is_enabled=True, failed_logins=0, created_at=utcnow()))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT session_version FROM users")) == 0

    browser = app.test_client()
    assert login(browser, "olga", PASSWORD).status_code == 302
    assert browser.get("/").status_code == 200


def test_users_from_before_session_versions_sign_in_after_the_upgrade_on_sqlite(make_app):
    a_user_from_before_session_versions_signs_in_after_the_upgrade(make_app(migrate=False))

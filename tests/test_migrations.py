"""The Alembic migrations on SQLite (tests/integration/test_postgres.py does PostgreSQL)."""
from __future__ import annotations

from tests.helpers import differences_from_models, upgrade_downgrade_upgrade
from webapp.extensions import db
from webapp.models import Base


def test_migrations_upgrade_downgrade_to_nothing_and_upgrade_again_on_sqlite(make_app):
    head, base, again = upgrade_downgrade_upgrade(make_app(migrate=False))

    assert set(Base.metadata.tables) <= set(head)
    assert set(base) == {"alembic_version"}
    assert again == head


def test_the_migrations_build_exactly_what_the_models_declare_on_sqlite(app):
    with app.app_context():
        assert differences_from_models(db.engine) == []

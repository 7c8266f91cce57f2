"""Migration 0013 folds the names already stored: after it, "wifi" finds the "Wi-Fi" tickets
made before it, on SQLite and PostgreSQL, and the downgrade puts 0008's index back."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from tests.factories import load_packs
from webapp.core.changes.manager import StateManager
from webapp.core.lists import listing
from webapp.extensions import db
from webapp.models import utcnow
from webapp.models.base import UTCDateTime

OLD_NAMES = ["Wi-Fi slow", "Wi-Fi down on floor 2", "O'Brien Street"]


def _upgrade(revision: str = "head") -> None:
    upgrade(revision=revision)


def _downgrade(revision: str) -> None:
    downgrade(revision=revision)


def _found(sm, q: str) -> list[str]:
    page = listing.browse(db.session, sm.vocabulary, listing.Filters(type="ticket", q=q))
    return sorted(e.name for e in page.rows)


def _indexed_as_wifi(engine: sa.Engine) -> int:
    """Entries of the search index that hold the word "wifi"."""
    sql = ("SELECT count(*) FROM entity_search WHERE entity_search MATCH 'name : \"wifi\"'"
           if engine.dialect.name == "sqlite" else
           "SELECT count(*) FROM entity_words WHERE word = 'wifi'")
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def _names_stored_before_0013_are_folded(app: Flask) -> None:
    entities = sa.table("entities", *(sa.column(c) for c in ("type", "name", "status", "version")),
                        sa.column("data", sa.JSON), *(sa.column(c, UTCDateTime()) for c in (
                            "created_at", "updated_at", "status_changed_at", "last_activity_at")))
    with app.app_context():
        _upgrade("0012")
        now = utcnow()
        with db.engine.begin() as conn:
            conn.execute(entities.insert(), [{
                "type": "ticket", "name": n, "status": "NEW", "version": 1, "data": {}, "created_at": now,
                "updated_at": now, "status_changed_at": now, "last_activity_at": now} for n in OLD_NAMES])
        _upgrade()
        StateManager.reset_instance()
        sm = load_packs(db.session)
        assert _found(sm, "wifi") == _found(sm, "Wi-Fi") == sorted(OLD_NAMES[:2])
        assert _found(sm, "obrien") == _found(sm, "o'brien") == ["O'Brien Street"]
        assert "wifi" in sm.vocabulary.containing("wifi")  # corrections can reach it
        assert sm.vocabulary.correct("wiffi") == "wifi"
        assert _indexed_as_wifi(db.engine) == 2
        db.session.remove()

        _downgrade("0012")
        sm.vocabulary = type(sm.vocabulary)()
        assert _indexed_as_wifi(db.engine) == 0  # 0008's index: the names as they are
        _upgrade()
        assert _found(load_packs(db.session), "wifi") == sorted(OLD_NAMES[:2])


def test_names_stored_before_the_folding_are_found_folded_on_sqlite(make_app):
    _names_stored_before_0013_are_folded(make_app(migrate=False))


@pytest.mark.postgres
def test_names_stored_before_the_folding_are_found_folded_on_postgres(make_app, postgres_server):
    url = postgres_server.create_database(f"fold_{uuid.uuid4().hex[:12]}")
    _names_stored_before_0013_are_folded(make_app(url, migrate=False))

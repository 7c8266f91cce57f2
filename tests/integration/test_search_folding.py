"""Search corrects a typo to words some name holds, and folds the characters inside a word
(issue 19: "Medow Lnae" went to "meadow lake", 0 matches, beside "meadow lane"; "wifi" found
nothing beside 21 "Wi-Fi" tickets). On SQLite (FTS5) and PostgreSQL (entity_words) alike."""
from __future__ import annotations

import importlib
import uuid

import pytest
from sqlalchemy import select

from tests.factories import load_packs
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.core.lists import listing, search
from webapp.extensions import db
from webapp.models import Entity

ADMIN = Actor("ada", "admin")
WIFI = ["Wi-Fi slow", "WiFi down", "wifi again"]  # in sorted() order
NAMES = ["Meadow Lane 4", "Meadow Lane 9", "Lake View 2", "Wi-Fi slow", "WiFi down", "wifi again",
         "O'Brien Street", "Printer jammed"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def named(request, make_app):
    """Tickets named NAMES (made through the app, so the triggers index them) on each database."""
    if request.param == "postgresql":
        app = make_app(request.getfixturevalue("postgres_server").create_database(
            f"fold_{uuid.uuid4().hex[:12]}"))
    else:
        app = make_app()
    StateManager.reset_instance()
    with app.app_context():
        sm = load_packs(db.session)
        for name in NAMES:
            sm.create_entity(db.session, ADMIN, type="ticket", name=name, data={"priority": "LOW"})
        assert db.engine.dialect.name == request.param
        yield sm
    StateManager.reset_instance()


def found(sm: StateManager, q: str) -> list[str]:
    page = listing.browse(db.session, sm.vocabulary, listing.Filters(type="ticket", q=q))
    return sorted(e.name for e in page.rows)


def test_a_typo_is_corrected_to_the_words_a_name_holds(named):
    named.vocabulary.load(db.session)
    assert named.vocabulary.correct("lnae") == "lake"  # as close as "lane": the first of the two

    assert search.corrected(db.session, named.vocabulary, "Medow Lnae") == ["meadow", "lane"]
    assert found(named, "Medow Lnae") == ["Meadow Lane 4", "Meadow Lane 9"]


def test_a_typo_that_no_combination_finds_is_still_corrected_to_the_closest(named):
    assert search.corrected(db.session, named.vocabulary, "Lnae Prnter") == ["lake", "printer"]
    assert found(named, "Lnae Prnter") == []


def test_words_spelt_correctly_are_kept_as_typed(named):
    assert search.corrected(db.session, named.vocabulary, "meadow lane") == ["meadow", "lane"]


@pytest.mark.parametrize("q", ["wifi", "Wi-Fi", "WIFI", "wi\u2010fi"])
def test_a_hyphen_inside_a_word_is_folded_in_the_query_and_in_the_names(named, q):
    assert found(named, q) == WIFI


def test_an_apostrophe_inside_a_word_is_folded_too(named):
    assert found(named, "obrien") == found(named, "O\u2019Brien") == ["O'Brien Street"]
    assert found(named, "brien") == ["O'Brien Street"]


def test_a_typo_of_a_folded_word_is_corrected_to_it(named):
    assert found(named, "wiffi") == WIFI


def test_a_renamed_entity_is_indexed_folded(named):
    sm = named
    entity = sm.create_entity(db.session, ADMIN, type="ticket", name="Check-in kiosk",
                              data={"priority": "LOW"})
    assert found(sm, "checkin") == ["Check-in kiosk"]

    sm.update_entity(db.session, ADMIN, entity.id, version=entity.version, name="Self-service kiosk")

    assert found(sm, "checkin") == []
    assert found(sm, "selfservice") == ["Self-service kiosk"]


def test_the_migration_folds_the_characters_the_search_folds():
    migration = importlib.import_module("migrations.versions.0013_search_folds_word_joiners")
    assert migration.FOLDED == search.FOLDED


def test_the_plain_name_filter_folds_too(named):
    """The filter a search falls back on (PostgreSQL: a word too common to expand; SQLite:
    beside FTS5) reads the folded names as the word index does."""
    names = db.session.scalars(select(Entity.name).where(
        search.name_filter(db.session, ["wifi"])).order_by(Entity.name)).all()

    assert names == WIFI

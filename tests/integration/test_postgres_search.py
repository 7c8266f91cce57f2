"""Name search on PostgreSQL through the id-ordered word index (migration 0006)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.factories import load_packs
from webapp.core.base.actor import Actor
from webapp.core.lists import listing, search
from webapp.extensions import db

pytestmark = pytest.mark.postgres
ADMIN = Actor("ada", "admin")
NAMES = ["Maple Lane 4", "Oak Street 9", "Maple Street 12", "Parking Lot Maple", "Old Park Road",
         "Maplewood Court", "Park Avenue 1", "Lakeside Parkway", "Maple Lane 7"]


@pytest.fixture
def named(pg_app):
    """Sales reps named NAMES on a migrated PostgreSQL database; their ids in that order."""
    with pg_app.app_context():
        sm = load_packs(db.session)
        ids = [sm.create_entity(db.session, ADMIN, type="sales_rep", name=n).id for n in NAMES]
    with pg_app.app_context():
        yield sm, ids


def found(sm, q: str, limit: int = 50, cursor: str | None = None) -> listing.Page:
    return listing.browse(db.session, sm.vocabulary, listing.Filters(type="sales_rep", q=q),
                          limit=limit, cursor=cursor)


def expected(ids: list[int], *words: str) -> list[int]:
    """What `lower(name) LIKE '%word%'` for every word finds, newest first."""
    return sorted((i for i, n in zip(ids, NAMES, strict=True)
                   if all(w in n.lower() for w in words)), reverse=True)


@pytest.mark.parametrize("q", ["maple", "park", "street", "maple street", "lane maple", "ark",
                               "maple 12", "old road", "street oak"])
def test_the_word_index_finds_what_a_substring_search_finds_newest_first(named, q):
    sm, ids = named
    assert search.word_expansions(db.session, sm.vocabulary, search.words(q)) is not None

    assert [e.id for e in found(sm, q).rows] == expected(ids, *search.words(q))


def test_pages_of_a_word_follow_each_other_without_gaps(named):
    sm, ids = named
    first = found(sm, "park", limit=2)
    second = found(sm, "park", limit=2, cursor=first.next_cursor)
    back = found(sm, "park", limit=2, cursor=second.prev_cursor)

    assert [e.id for e in first.rows + second.rows] == expected(ids, "park")[:4]
    assert [e.id for e in back.rows] == [e.id for e in first.rows]
    assert listing.capped_count(db.session, sm.vocabulary,
                                listing.Filters(type="sales_rep", q="park")) == 4


def test_a_renamed_entity_is_found_by_its_new_name_only(named):
    sm, ids = named
    sm.update_entity(db.session, ADMIN, ids[1], version=1, name="Birch Boulevard")

    assert [e.id for e in found(sm, "birch").rows] == [ids[1]]
    assert ids[1] not in [e.id for e in found(sm, "oak").rows]
    assert db.session.execute(text("SELECT count(*) FROM entity_words WHERE entity_id = :i"),
                              {"i": ids[1]}).scalar() == 2  # "birch", "boulevard"


def test_a_word_in_no_name_finds_nothing_and_other_filters_still_apply(named):
    sm, _ids = named
    assert found(sm, "zzyzx").rows == []

    page = listing.browse(db.session, sm.vocabulary,
                          listing.Filters(type="builder", q="maple"))
    assert page.rows == []


def test_a_word_shared_with_another_type_finds_only_the_listed_types_entities(named):
    sm, ids = named
    builders = [sm.create_entity(db.session, ADMIN, type="builder", name=n).id
                for n in ("Maple Street Homes", "Park Builders")]

    assert [e.id for e in found(sm, "maple street").rows] == expected(ids, "maple", "street")
    assert [e.id for e in found(sm, "park").rows] == expected(ids, "park")
    builder_page = listing.browse(db.session, sm.vocabulary,
                                  listing.Filters(type="builder", q="street maple"),
                                  summaries=True)
    assert [r.id for r in builder_page.rows] == [builders[0]]
    assert listing.capped_count(db.session, sm.vocabulary,
                                listing.Filters(type="builder", q="park")) == 1


def test_a_word_inside_many_identifiers_is_still_found_through_the_word_index(pg_app):
    """Flags named "api.new_flow_<n>" put a word containing "pine" into the vocabulary for
    each flag; past BRANCHES_MAX of them the words are read through one LATERAL branch, with
    the same answer as a substring search, newest first, across types and pages."""
    n = search.BRANCHES_MAX + 6
    with pg_app.app_context():
        sm = load_packs(db.session)
        flags = [sm.create_entity(db.session, ADMIN, type="sales_rep", name=f"api.new_flow_{i}").id
                 for i in range(n)]
        street = sm.create_entity(db.session, ADMIN, type="sales_rep", name="Pine Street").id
        sm.create_entity(db.session, ADMIN, type="sales_rep", name="Oak Street")
    with pg_app.app_context():
        expansions = search.word_expansions(db.session, sm.vocabulary, ["pine"])
        assert expansions is not None and len(expansions[0]) == n + 1

        first = found(sm, "pine", limit=50)
        rest = found(sm, "pine", limit=50, cursor=first.next_cursor)
        assert [e.id for e in first.rows + rest.rows] == sorted([*flags, street], reverse=True)
        assert [e.id for e in found(sm, "pine street").rows] == [street]

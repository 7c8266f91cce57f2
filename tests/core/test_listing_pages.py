"""Entity lists in the core: keyset pages in every sort order, capped counts, batched reads,
on SQLite and on PostgreSQL (row-value comparisons, timestamps in cursors)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import make_entity, make_manager
from webapp.core.base.errors import InvalidInput
from webapp.core.lists import listing
from webapp.core.lists.rows import Summary

NAMES = ["Charlie", "Alpha", "Golf", "Bravo", "Echo", "Delta", "Foxtrot", "Alpha"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_session(request):
    return request.getfixturevalue("session" if request.param == "sqlite" else "pg_session")


@pytest.fixture
def reps(db_session, clock, admin):
    """Sales reps named NAMES (two Alphas), each a day quieter than the one before."""
    manager = make_manager(db_session, clock, admin)
    made = [make_entity(manager, db_session, admin, "sales_rep", name,
                        last_activity_at=clock() - timedelta(days=i))
            for i, name in enumerate(NAMES)]
    return manager, [e.id for e in made]


def walk(session, manager, sort: str, limit: int = 3, direction: str = "next",
         summaries: bool = False) -> list[list[int]]:
    """Every page, following next cursors (or, from the last page, prev cursors)."""
    f, order = listing.Filters(type="sales_rep"), listing.Sort.parse(sort)

    def browse(cursor=None):
        return listing.browse(session, manager.vocabulary, f, order, limit, cursor, summaries)

    page = browse()
    pages = [[e.id for e in page.rows]]
    while page.next_cursor:
        page = browse(page.next_cursor)
        pages.append([e.id for e in page.rows])
    if direction == "prev":
        pages = [pages[-1]]
        while page.prev_cursor:
            page = browse(page.prev_cursor)
            pages.append([e.id for e in page.rows])
    return pages


@pytest.mark.parametrize("summaries", [False, True], ids=["entities", "summaries"])
@pytest.mark.parametrize("sort", ["id", "-id", "name", "-name", "status", "last_activity_at",
                                  "-last_activity_at"])
def test_pages_in_any_order_cover_every_row_once_in_order(db_session, reps, sort, summaries):
    manager, ids = reps
    rows = {i: n for i, n in zip(ids, NAMES, strict=True)}
    key = {"id": lambda i: i, "name": lambda i: (rows[i], i), "status": lambda i: ("active", i),
           "last_activity_at": lambda i: (-ids.index(i), i)}[sort.lstrip("-")]

    pages = walk(db_session, manager, sort, summaries=summaries)

    assert [len(p) for p in pages] == [3, 3, 2]
    assert [i for p in pages for i in p] == sorted(ids, key=key, reverse=sort.startswith("-"))


@pytest.mark.parametrize("sort", ["name", "-last_activity_at", "-id"])
def test_previous_cursors_walk_back_over_the_same_pages(db_session, reps, sort):
    manager, _ = reps

    forward = walk(db_session, manager, sort)
    backward = walk(db_session, manager, sort, direction="prev")

    assert backward == list(reversed(forward))


def test_summary_rows_carry_what_a_table_shows_and_the_parents_name(db_session, clock, admin):
    manager = make_manager(db_session, clock, admin)
    builder = make_entity(manager, db_session, admin, "builder", "Acme Homes")
    community = make_entity(manager, db_session, admin, "community", "Willow Park",
                            parent_id=builder.id)

    found = listing.browse(db_session, manager.vocabulary, listing.Filters(type="community"),
                           summaries=True)

    assert found.rows == [Summary(community.id, "Willow Park", community.status,
                                          community.last_activity_at, builder.id, "Acme Homes",
                                          "community")]


def test_a_cursor_of_another_sort_is_refused(db_session, reps):
    manager, _ = reps
    f = listing.Filters(type="sales_rep")
    page = listing.browse(db_session, manager.vocabulary, f, listing.Sort.parse("name"), 3)

    with pytest.raises(InvalidInput, match="another sort"):
        listing.browse(db_session, manager.vocabulary, f, listing.Sort.parse("-id"), 3,
                       page.next_cursor)


def test_the_count_stops_just_past_the_cap(db_session, reps):
    manager, _ = reps
    f = listing.Filters(type="sales_rep")

    assert listing.capped_count(db_session, manager.vocabulary, f, cap=5) == 6
    assert listing.capped_count(db_session, manager.vocabulary, f, cap=100) == len(NAMES)


@pytest.mark.parametrize("cap", [2, 100])  # many quiet (walk the ids) / few (sort the range)
def test_quiet_entities_come_newest_first_however_many_are_quiet(db_session, reps, clock,
                                                                 monkeypatch, cap):
    manager, ids = reps
    monkeypatch.setattr(listing, "COUNT_CAP", cap)
    f = listing.Filters(type="sales_rep", inactive_since=clock() - timedelta(days=2, hours=12))

    first = listing.browse(db_session, manager.vocabulary, f, limit=3)
    rest = listing.browse(db_session, manager.vocabulary, f, limit=3, cursor=first.next_cursor)

    quiet = sorted(ids[3:], reverse=True)  # the reps 3 to 7 days quiet
    assert [e.id for e in first.rows] + [e.id for e in rest.rows] == quiet
    assert listing.capped_count(db_session, manager.vocabulary, f, cap=100) == len(quiet)


def test_iterate_reads_every_match_in_batches(db_session, reps):
    manager, ids = reps

    found = list(listing.iterate(db_session, manager.vocabulary, listing.Filters(type="sales_rep"),
                                 listing.Sort.parse("name"), batch=3))

    assert sorted(e.id for e in found) == sorted(ids)
    assert [e.name for e in found] == sorted(NAMES)


def test_filters_from_parameters_turn_quiet_days_into_a_time(clock):
    f = listing.filters_from_params({"type": "builder", "quiet_days": "30", "parent_id": "7",
                                     "q": "  acme  ", "status": ""}, clock())

    assert (f.type, f.status, f.q, f.parent_id) == ("builder", None, "acme", 7)
    assert f.inactive_since == clock() - timedelta(days=30)


@pytest.mark.parametrize("params, field", [({"quiet_days": "soon"}, "quiet_days"),
                                           ({"parent_id": "0"}, "parent_id"),
                                           ({"parent_id": "1.5"}, "parent_id")])
def test_bad_filter_parameters_name_the_field(clock, params, field):
    with pytest.raises(InvalidInput) as err:
        listing.filters_from_params(params, clock())

    assert field in err.value.fields


@pytest.mark.parametrize("cursor", ["bm9wZQ", "WyJuZXh0IiwgMSwgIm5hbWUiLCAxXQ", "%%%"])
def test_a_forged_cursor_is_bad_input(db_session, reps, cursor):
    manager, _ = reps
    with pytest.raises(InvalidInput, match="cursor"):
        listing.browse(db_session, manager.vocabulary, listing.Filters(type="sales_rep"),
                       listing.Sort.parse("name"), 3, cursor)


def test_quiet_pages_walk_back_to_the_first_page_with_other_types_around(db_session, reps,
                                                                         clock, admin):
    manager, ids = reps
    # Newer entities of another type: a walk from the newest id passes them first.
    for i in range(3):
        make_entity(manager, db_session, admin, "builder", f"Builder {i}",
                    last_activity_at=clock() - timedelta(days=30))
    f = listing.Filters(type="sales_rep", inactive_since=clock() - timedelta(days=2, hours=12))

    first = listing.browse(db_session, manager.vocabulary, f, limit=2)
    second = listing.browse(db_session, manager.vocabulary, f, limit=2, cursor=first.next_cursor)
    back = listing.browse(db_session, manager.vocabulary, f, limit=2, cursor=second.prev_cursor)

    quiet = sorted(ids[3:], reverse=True)
    assert [e.id for e in first.rows + second.rows] == quiet[:4]
    assert [e.id for e in back.rows] == quiet[:2]

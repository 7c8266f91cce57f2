"""Lists filter and sort on declared, filterable fields (CONTRACT §7), through the API, on
SQLite and PostgreSQL: every operator, keyset pages in field order with missing values first,
a 400 naming any other field, and one index per filterable field, used by the list query."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from tests.api import test_entity_fields_api as fields_api
from webapp.core.changes.manager import StateManager
from webapp.core.fields import columns
from webapp.core.workflows import packs
from webapp.core.workflows.registry import sync_field_indexes
from webapp.extensions import db

_tree = fields_api._tree  # server and api: tests/api/conftest.py

PRICES = {"A": "250000", "B": "300000", "C": "300000.50", "D": "1200000", "E": None}
BEDROOMS = {"A": 2, "B": 3, "C": 3, "D": 5, "E": 1}


@pytest.fixture
def listed(server, api) -> dict[str, int]:
    parent = _tree(server)["community"]
    ids = {}
    for name, price in PRICES.items():
        data: dict[str, Any] = {"bedrooms": BEDROOMS[name], "listed_on": f"2025-0{len(ids) + 1}-15"}
        if price is not None:
            data["price"] = price
        answer = api("POST", "/entities", {"type": "property", "name": name, "parent_id": parent,
                                           "data": data})
        assert answer.status_code == 201, answer.json
        ids[name] = answer.json["id"]
    return ids


def _names(api, query: str) -> list[str]:
    answer = api("GET", f"/entities?type=property&{query}")
    assert answer.status_code == 200, answer.json
    return [item["name"] for item in answer.json["items"]]


def test_each_operator_filters_on_the_fields_value(listed, api):
    assert sorted(_names(api, "data.price__gte=300000")) == ["B", "C", "D"]
    assert sorted(_names(api, "data.price__gt=300000")) == ["C", "D"]  # as numbers, not text
    assert sorted(_names(api, "data.price__lt=300000")) == ["A"]  # a missing price is no match
    assert sorted(_names(api, "data.price__lte=300000")) == ["A", "B"]
    assert sorted(_names(api, "data.bedrooms=3")) == ["B", "C"]
    assert sorted(_names(api, "data.bedrooms__in=1,5")) == ["D", "E"]
    assert sorted(_names(api, "data.listed_on__gte=2025-03-01&data.bedrooms__lt=5")) == ["C", "E"]
    # Beyond the field's own bounds (0-50) is still a fair question.
    assert sorted(_names(api, "data.bedrooms__lt=100")) == ["A", "B", "C", "D", "E"]
    assert _names(api, "data.price__gte=300000&status=nonexistent") == []


def test_sorting_on_a_field_pages_in_its_order_with_missing_values_first(listed, api):
    def walk(sort: str) -> list[str]:
        seen, cursor = [], ""
        for _ in range(10):
            answer = api("GET", f"/entities?type=property&sort={sort}&limit=2{cursor}")
            assert answer.status_code == 200, answer.json
            seen += [item["name"] for item in answer.json["items"]]
            if not answer.json["next_cursor"]:
                return seen
            cursor = f"&cursor={answer.json['next_cursor']}"
        raise AssertionError("no last page")

    assert walk("data.price") == ["E", "A", "B", "C", "D"]
    assert walk("-data.price") == ["D", "C", "B", "A", "E"]
    assert walk("-data.bedrooms") == ["D", "C", "B", "A", "E"]  # ties by id, newest first
    assert walk("data.listed_on") == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize(("query", "named", "says"), [
    ("data.colour=red", "data.colour", "has no field 'colour'"),
    ("data.address=x", "data.address", "not a filterable field"),
    ("data.price__gte=cheap", "data.price__gte", "Price must be a number"),
    ("data.price__near=3", "data.price__near", "Unknown operator __near"),
    ("data.price__contains=3", "data.price__contains", "__contains applies to text"),
    ("data.listed_on=2025-13-40", "data.listed_on", "must be a date"),
    ("sort=-data.address", "sort", "not a filterable field"),
    ("sort=data.nothing", "sort", "has no field 'nothing'"),
])
def test_a_filter_or_sort_on_anything_else_is_a_400_naming_it(listed, api, query, named, says):
    answer = api("GET", f"/entities?type=property&{query}")
    assert answer.status_code == 400, answer.json
    assert says in answer.json["fields"][named]


def test_field_filters_need_a_known_type(listed, api):
    for query in ("data.price=1", "type=castle&data.price=1", "sort=data.price"):
        answer = api("GET", f"/entities?{query}")
        assert answer.status_code == 400, answer.json
        assert "type" in answer.json["fields"]


def test_a_tampered_cursor_is_a_400(listed, api):
    from webapp.core.base import paging

    bad = paging.encode_value(listed["B"], "next", "data.price", "not a number")
    answer = api("GET", f"/entities?type=property&sort=data.price&cursor={bad}")
    assert answer.status_code == 400, answer.json
    assert "cursor" in answer.json["fields"]


def test_each_filterable_field_has_one_index_the_list_uses(server, listed):
    with server.app_context():
        names = columns.existing(db.session)
        filterable = [n for n, s in packs.registry.load_pack("realestate")["types"]["property"]
                      ["fields"].items() if s.get("filterable")]
        assert sum(f"_property_{n[:20]}_" in i for i in names for n in filterable) == len(filterable)
        # Saving again changes nothing; an unknown index of ours is dropped.
        db.session.execute(text(f"CREATE INDEX {columns.INDEX_PREFIX}stale ON entities (id)"))
        created, dropped = sync_field_indexes(db.session)
        assert (created, dropped) == ([], [f"{columns.INDEX_PREFIX}stale"])
        db.session.commit()


def test_the_price_index_serves_a_filter_and_a_sort(server, listed):
    from webapp.core.lists import listing
    from webapp.core.lists.search import Vocabulary

    with server.app_context():
        wf = StateManager.get_instance().workflow(db.session, "property")
        f = listing.filters_from_params({"type": "property", "data.price__gte": "300000"},
                                        datetime.now(UTC), wf.fields, wf.label)
        sort = listing.Sort.parse("-data.price", wf.fields)
        stmt = listing._ids(db.session, Vocabulary(), f, [], sort, None, 50)
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        dialect = db.engine.dialect.name
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        if dialect == "postgresql":
            db.session.execute(text("SET enable_seqscan = off"))  # five rows: force the choice
        plan = " ".join(str(r) for r in db.session.execute(text(explain + str(compiled))))
        assert f"{columns.INDEX_PREFIX}property_price_" in plan, plan


@pytest.mark.parametrize("walk_from", [1, 10_000])
def test_both_ways_of_paging_by_id_agree(listed, api, monkeypatch, walk_from):
    """Sorted by id, SQLite either walks the ids (many match) or sorts the matches found on
    the field's index (few match): the same pages either way."""
    from webapp.core.lists import listing

    monkeypatch.setattr(listing, "FIELD_WALK_FROM", walk_from)
    assert _names(api, "data.price__gte=300000") == ["D", "C", "B"]
    assert _names(api, "data.price__gte=300000&limit=2") == ["D", "C"]
    first = api("GET", "/entities?type=property&data.bedrooms__gte=2&limit=2")
    assert [i["name"] for i in first.json["items"]] == ["D", "C"]
    rest = api("GET", f"/entities?type=property&data.bedrooms__gte=2&limit=2"
                      f"&cursor={first.json['next_cursor']}")
    assert [i["name"] for i in rest.json["items"]] == ["B", "A"]


@pytest.mark.parametrize(("walk_from", "walks"), [(1, True), (10_000, False)])
def test_paging_by_id_walks_only_when_many_match(server, listed, monkeypatch, walk_from, walks):
    """The choice between walking the ids and sorting the index's matches: one probe along
    the field's index; four properties match, so only a line below four walks."""
    from webapp.core.lists import listing
    from webapp.core.lists.search import Vocabulary

    monkeypatch.setattr(listing, "FIELD_WALK_FROM", walk_from)
    with server.app_context():
        wf = StateManager.get_instance().workflow(db.session, "property")
        f = listing.filters_from_params({"type": "property", "data.price__gte": "1"},
                                        datetime.now(UTC), wf.fields, wf.label)
        assert listing._field_walk(db.session, Vocabulary(), f) is walks


def _postgres_only(server) -> None:
    with server.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite keeps no statistics of an index's values")


def test_an_index_made_for_a_field_is_analysed_at_once(server, listed):
    """PostgreSQL: the statistics the list reads to choose its walk exist as soon as the
    index does, not after autovacuum's next visit."""
    _postgres_only(server)
    with server.app_context():
        price = StateManager.get_instance().workflow(db.session, "property").fields["price"]
        index = next(i for i in columns.existing(db.session) if "_property_price_" in i)
        db.session.execute(text(f"DROP INDEX {index}"))
        assert sync_field_indexes(db.session) == ([index], [])
        stats = columns.statistics(db.session, "property", "price", price)
        assert stats is not None
        assert (stats.rows, stats.null_share) == (5, pytest.approx(0.2))  # E has no price
        db.session.commit()


@pytest.mark.parametrize(("walk_from", "walks"), [(1, True), (10_000, False)])
def test_with_statistics_postgres_chooses_the_walk_without_a_probe(server, listed, api,
                                                                   monkeypatch, walk_from, walks):
    """The probe counted along the expression index, reading each entry's row (tens of ms for
    a wide range); analysed, the index's statistics say how many match, and the pages are
    the same either way."""
    from sqlalchemy import event

    from webapp.core.lists import listing
    from webapp.core.lists.search import Vocabulary

    _postgres_only(server)
    monkeypatch.setattr(listing, "FIELD_WALK_FROM", walk_from)
    monkeypatch.setattr(columns, "STATISTICS_SECONDS", 0)  # read them after this ANALYZE
    with server.app_context():
        db.session.execute(text("ANALYZE entities"))
        db.session.commit()
        wf = StateManager.get_instance().workflow(db.session, "property")
        f = listing.filters_from_params({"type": "property", "data.price__gte": "300000"},
                                        datetime.now(UTC), wf.fields, wf.label)
        said: list[str] = []

        def heard(conn, cursor, statement, *rest) -> None:
            said.append(statement)
        event.listen(db.engine, "before_cursor_execute", heard)
        try:
            assert listing._field_walk(db.session, Vocabulary(), f) is walks
        finally:
            event.remove(db.engine, "before_cursor_execute", heard)
        assert not [s for s in said if "OFFSET" in s.upper()], said
    assert _names(api, "data.price__gte=300000") == ["D", "C", "B"]

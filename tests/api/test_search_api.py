"""Search across every type (CONTRACT §11), on SQLite and PostgreSQL: the API's shape, ranking
by match quality then recent activity, typos tolerated, bad parameters named; and the header's
search box answering as one types, and as a page."""
from __future__ import annotations

import pytest

from tests.api import test_entity_fields_api as fields_api
from tests.factories import PASSWORD, make_entity, make_user
from tests.helpers import login
from webapp.core.changes.manager import StateManager
from webapp.extensions import db

SEEDER = fields_api.SEEDER


@pytest.fixture
def named(server) -> dict[str, int]:
    with server.app_context():
        sm = StateManager.get_instance()
        ids = {}
        for type_, name in (("builder", "Maple Homes"), ("community", "Maple Ridge"),
                            ("sales_rep", "Ridge Maplewood"), ("builder", "Oak Builders"),
                            ("community", "Maple")):
            ids[name] = make_entity(sm, db.session, SEEDER, type_, name).id
        return ids


def _names(api, q: str, limit: str = "") -> list[str]:
    answer = api("GET", f"/search?q={q}{limit}")
    assert answer.status_code == 200, answer.json
    return [item["name"] for item in answer.json["items"]]


def test_results_across_types_best_match_first(api, named):
    answer = api("GET", "/search?q=maple")
    assert answer.status_code == 200
    items = answer.json["items"]
    assert set(items[0]) == {"id", "type", "name", "status", "score"}
    names = [i["name"] for i in items]
    assert names[0] == "Maple"  # the whole name typed
    assert set(names) == {"Maple", "Maple Homes", "Maple Ridge", "Ridge Maplewood"}
    assert {i["type"] for i in items} == {"builder", "community", "sales_rep"}
    assert items[0]["score"] >= items[-1]["score"]
    assert _names(api, "maple+ridge")[0] == "Maple Ridge"


def test_typos_are_tolerated(api, named):
    assert "Maple Ridge" in _names(api, "mapel+ridge")


def test_equal_matches_go_to_the_most_recently_active(server, api, named, clock):
    with server.app_context():
        sm = StateManager.get_instance()
        clock.advance(hours=1)
        sm.record_activity(db.session, SEEDER, named["Maple Homes"])
    found = _names(api, "map")  # three names start with it; one has a word starting with it
    assert found[0] == "Maple Homes" and found[-1] == "Ridge Maplewood"


@pytest.mark.parametrize(("query", "named_field"), [
    ("q=a&limit=0", "limit"), ("q=a&limit=51", "limit"), ("q=a&limit=x", "limit"),
    ("q=" + "a" * 201, "q"),
])
def test_bad_parameters_are_named(api, query, named_field):
    answer = api("GET", f"/search?{query}")
    assert answer.status_code == 400
    assert named_field in answer.json["fields"]


def test_an_empty_query_finds_nothing(api, named):
    assert _names(api, "") == [] and _names(api, "+++") == []
    assert len(_names(api, "maple", "&limit=2")) == 2


def test_the_header_box_answers_as_one_types_and_as_a_page(server, named):
    with server.app_context():
        make_user(db.session, "auditor", "ann")
    client = server.test_client()
    login(client, "ann", PASSWORD)
    page = client.get("/entities/").get_data(as_text=True)
    assert 'id="header-q"' in page and 'aria-keyshortcuts="/"' in page
    live = client.get("/entities/search?q=maple+rid", headers={"HX-Request": "true"})
    text = live.get_data(as_text=True)
    assert 'role="listbox"' in text and text.index("Maple Ridge") < text.index("Ridge Maplewood")
    assert "Community" in text
    none = client.get("/entities/search?q=zzqqxx", headers={"HX-Request": "true"})
    assert "Nothing is named like" in none.get_data(as_text=True)
    full = client.get("/entities/search?q=maple").get_data(as_text=True)
    assert "<h1>Search: “maple”</h1>" in full and "Ridge Maplewood" in full

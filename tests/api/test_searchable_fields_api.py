"""``q`` also matches searchable fields (CONTRACT §7), on SQLite and PostgreSQL: the global
search, the list's ``q`` and typo correction find a property by a word of its address, follow
every way an address is written (create, PATCH, bulk update), and follow the workflow when a
field stops or starts being searchable."""
from __future__ import annotations

import pytest

from tests.api import test_entity_fields_api as fields_api
from tests.factories import make_entity
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import registry
from webapp.extensions import db

SEEDER = fields_api.SEEDER


@pytest.fixture
def homes(server) -> dict[str, int]:
    with server.app_context():
        sm = StateManager.get_instance()
        builder = make_entity(sm, db.session, SEEDER, "builder", "Acme Homes")
        community = make_entity(sm, db.session, SEEDER, "community", "Lakeside",
                                parent_id=builder.id)
        made = {}
        for name, address in (("Plot 7", "41 Juniper Crescent"), ("Plot 8", "9 Alder Way")):
            made[name] = make_entity(sm, db.session, SEEDER, "property", name,
                                     parent_id=community.id, data={"address": address}).id
        return made


def _search(api, q: str) -> list[str]:
    answer = api("GET", f"/search?q={q}")
    assert answer.status_code == 200, answer.json
    return [item["name"] for item in answer.json["items"]]


def _listed(api, q: str) -> list[str]:
    answer = api("GET", f"/entities?type=property&q={q}")
    assert answer.status_code == 200, answer.json
    return [item["name"] for item in answer.json["items"]]


def test_a_word_of_an_address_finds_its_property_in_search_and_lists(api, homes):
    assert _search(api, "juniper") == ["Plot 7"]
    assert _listed(api, "crescent") == ["Plot 7"]
    assert _listed(api, "alder way") == ["Plot 8"]
    assert _search(api, "junipr crescnt") == ["Plot 7"]  # typos corrected to address words


def test_a_name_match_ranks_above_an_address_match(server, api, homes):
    with server.app_context():
        sm = StateManager.get_instance()
        make_entity(sm, db.session, SEEDER, "builder", "Juniper Builders")
    assert _search(api, "juniper") == ["Juniper Builders", "Plot 7"]


def test_a_changed_address_is_found_by_its_new_words_only(api, homes):
    current = api("GET", f"/entities/{homes['Plot 7']}").json
    patched = api("PATCH", f"/entities/{homes['Plot 7']}",
                  {"version": current["version"], "data": {"address": "12 Birchwood Lane"}})
    assert patched.status_code == 200, patched.json

    assert _search(api, "birchwood") == ["Plot 7"]
    assert _search(api, "juniper") == []


def test_a_bulk_update_of_addresses_is_searchable_with_typos(api, homes):
    done = api("POST", "/bulk/update", {"ids": [homes["Plot 8"]],
                                        "update_data": {"address": "3 Quillfeather Row"}})
    assert done.status_code == 200, done.json

    assert _listed(api, "quillfeather") == ["Plot 8"]
    assert _search(api, "quilfeather") == ["Plot 8"]


def test_a_field_that_stops_being_searchable_leaves_the_index_and_can_come_back(server, api, homes):
    def searchable(on: bool) -> None:
        with server.app_context():
            sm = StateManager.get_instance()
            doc = registry.export_document(db.session, sm.workflows,
                                           "property")["types"]["property"]
            doc["fields"]["address"]["searchable"] = on
            with write_transaction(db.session):
                registry.save(db.session, "property", doc, "realestate", "admin", sm.clock(),
                              set(registry.load_pack("realestate")["types"]))
            sm.workflows.invalidate()

    searchable(False)
    assert _search(api, "juniper") == []
    assert _listed(api, "plot") == ["Plot 8", "Plot 7"]  # names stay indexed

    searchable(True)
    assert _search(api, "juniper") == ["Plot 7"]

"""Declared fields through the JSON API (CONTRACT §7): every write path answers 400 with
``"fields": {"data.<name>": sentence}`` for each bad value, and stores good values in one form;
on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import packs
from webapp.core.workflows.registry import load_pack
from webapp.extensions import db
from webapp.models import Entity, StatusChange

SEEDER = Actor("seeder", "admin")
Call = Callable[..., Any]


def _tree(server) -> dict[str, int]:
    """A builder and its community, for properties to live in."""
    with server.app_context():
        from webapp.core.changes.manager import StateManager

        sm = StateManager.get_instance()
        builder = sm.create_entity(db.session, SEEDER, type="builder", name="Harbour Homes")
        community = sm.create_entity(db.session, SEEDER, type="community", name="Maple Ridge",
                                     parent_id=builder.id)
        return {"builder": builder.id, "community": community.id}


def _property(api, parent: int, **data) -> dict[str, Any]:
    answer = api("POST", "/entities", {"type": "property", "name": "4 Maple Lane",
                                       "parent_id": parent, "data": data})
    assert answer.status_code == 201, answer.json
    return answer.json


def _refusal(answer) -> dict[str, str]:
    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == "invalid_input"
    return answer.json["fields"]


# --------------------------------------------------------------------------- create


def test_a_property_is_created_with_its_values_stored_in_one_form(server, api):
    tree = _tree(server)

    created = _property(api, tree["community"], address=" 4 Maple Lane, Springfield ",
                        price=349999.5, bedrooms=3, listed_on="2025-03-01")

    assert created["data"] == {"address": "4 Maple Lane, Springfield", "price": "349999.5",
                               "bedrooms": 3, "listed_on": "2025-03-01"}
    assert api("GET", f"/entities/{created['id']}").json["data"] == created["data"]


def test_a_negative_price_is_refused_in_words_and_nothing_is_written(server, api):
    tree = _tree(server)
    with server.app_context():
        before = db.session.query(Entity).count()

    answer = api("POST", "/entities", {"type": "property", "name": "4 Maple Lane",
                                       "parent_id": tree["community"], "data": {"price": -1}})

    assert _refusal(answer) == {"data.price": "Price must be a number of at least 0."}
    assert answer.json["message"] == "Price must be a number of at least 0."
    with server.app_context():
        assert db.session.query(Entity).count() == before


def test_every_bad_value_is_named_at_once(server, api):
    answer = api("POST", "/entities", {"type": "work_order", "name": "Boiler", "data": {
        "vendr": "Acme", "priority": "URGENT", "due_on": "next week",
        "line_items": [{"description": "Valve", "quantity": 2, "unit_price": "18.40"},
                       {"description": "Labour", "quantity": 0}]}})

    assert _refusal(answer) == {
        "data.vendr": "Vendr is not a field of work order.",
        "data.priority": "Priority must be one of LOW, MEDIUM, HIGH, CRITICAL.",
        "data.due_on": "Due on must be a date (YYYY-MM-DD).",
        "data.line_items[1].quantity": "Quantity must be a whole number from 1 to 100,000.",
    }


def test_a_ticket_needs_its_priority(api):
    answer = api("POST", "/entities", {"type": "ticket", "name": "Lift stuck"})

    assert _refusal(answer) == {"data.priority": "Priority is required."}
    assert api("POST", "/entities", {"type": "ticket", "name": "Lift stuck",
                                     "data": {"priority": "HIGH"}}).status_code == 201


def test_a_unique_license_number_and_a_reference_to_a_missing_rep_are_refused(server, api):
    tree = _tree(server)
    first = api("POST", "/entities", {"type": "builder", "name": "Oak Builders",
                                      "data": {"license_number": "CA-1048213"}})
    assert first.status_code == 201

    clash = api("POST", "/entities", {"type": "builder", "name": "Elm Builders",
                                      "data": {"license_number": "CA-1048213"}})
    missing = api("POST", "/entities", {"type": "property", "name": "5 Maple Lane",
                                        "parent_id": tree["community"],
                                        "data": {"listing_agent": tree["builder"]}})

    assert _refusal(clash) == {"data.license_number": (
        "License number must be unique: another builder has 'CA-1048213'.")}
    assert _refusal(missing) == {"data.listing_agent": (
        f"Listing agent must be the id of a sales rep; there is no sales rep with id "
        f"{tree['builder']}.")}


@pytest.mark.parametrize(("raw_price", "sentence"), [
    ("1" + "0" * 20, "Price must be a number from 0 to 1,000,000,000,000,000."),
    ("[" * 10 + "1" + "]" * 10, "Price must be a number of at least 0."),
    ('{"a": ' * 10 + "1" + "}" * 10, "Price must be a number of at least 0."),
    # beyond what any input may hold: the request's edge refuses these, naming the field too
    ("1" + "0" * 40, None), ("1e400", None), ("NaN", None),
    ("[" * 200 + "1" + "]" * 200, None),
], ids=["21 digits", "nested lists", "nested objects", "41 digits", "overflowing float", "NaN",
        "200 levels"])
def test_huge_numbers_and_deep_nesting_are_a_400_naming_the_field(server, api, raw_price, sentence):
    tree = _tree(server)
    raw = (f'{{"type": "property", "name": "x", "parent_id": {tree["community"]}, '
           f'"data": {{"price": {raw_price}}}}}')

    fields = _refusal(api("POST", "/entities", raw=raw))

    assert list(fields) == ["data.price"]
    if sentence:
        assert fields["data.price"] == sentence


def test_a_body_nested_beyond_any_parser_is_a_400_not_a_500(api):
    raw = '{"type": "property", "name": "x", "data": {"price": ' + "[" * 100_000 + "]" * 100_000 + "}}"

    assert api("POST", "/entities", raw=raw).status_code == 400


def test_an_import_with_a_status_is_held_to_the_same_fields(server, api):
    tree = _tree(server)
    base = {"type": "property", "name": "7 Maple Lane", "parent_id": tree["community"],
            "status": "reserved"}

    refused = api("POST", "/entities", {**base, "data": {"price": "cheap", "pool": True}})
    imported = api("POST", "/entities", {**base, "data": {"price": 410000, "bedrooms": 4}})

    assert _refusal(refused) == {"data.pool": "Pool is not a field of property.",
                                 "data.price": "Price must be a number of at least 0."}
    assert imported.status_code == 201
    assert (imported.json["status"], imported.json["data"]) == (
        "reserved", {"price": "410000", "bedrooms": 4})
    history = api("GET", f"/entities/{imported.json['id']}/history").json["items"]
    assert [h["source"] for h in history] == ["import"]


# ---------------------------------------------------------------------------- PATCH


def test_a_patch_is_merged_then_checked_as_a_whole(server, api):
    home = _property(api, _tree(server)["community"], address="4 Maple Lane", price=350000)

    changed = api("PATCH", f"/entities/{home['id']}", {"version": 1, "data": {
        "price": "339000.00", "bedrooms": 3}})
    refused = api("PATCH", f"/entities/{home['id']}", {"version": 2, "data": {
        "bedrooms": 51, "address": None, "garage": 2}})

    assert changed.status_code == 200
    assert changed.json["data"] == {"address": "4 Maple Lane", "price": "339000.00", "bedrooms": 3}
    assert _refusal(refused) == {"data.garage": "Garage is not a field of property.",
                                 "data.bedrooms": "Bedrooms must be a whole number from 0 to 50."}
    assert api("GET", f"/entities/{home['id']}").json["version"] == 2


def test_a_patch_may_not_remove_a_required_value(api):
    ticket = api("POST", "/entities", {"type": "ticket", "name": "Lift stuck",
                                       "data": {"priority": "HIGH"}}).json

    answer = api("PATCH", f"/entities/{ticket['id']}", {"version": 1, "data": {"priority": None}})

    assert _refusal(answer) == {"data.priority": "Priority is required."}


def test_list_items_are_named_by_their_place(api):
    order = api("POST", "/entities", {"type": "work_order", "name": "Boiler", "data": {
        "line_items": [{"description": "Valve", "quantity": 2}]}}).json
    assert order["data"]["line_items"] == [{"description": "Valve", "quantity": 2}]

    answer = api("PATCH", f"/entities/{order['id']}", {"version": 1, "data": {"line_items": [
        {"description": "Valve", "quantity": 2}, {"description": "Pump", "quantity": "3"}]}})

    assert _refusal(answer) == {
        "data.line_items[1].quantity": "Quantity must be a whole number from 1 to 100,000."}


# ------------------------------------------------------------------------ bulk update


def test_a_bulk_update_reports_each_items_field_sentences(server, api):
    tree = _tree(server)
    homes = [_property(api, tree["community"], price=300000)["id"] for _ in range(2)]

    good = api("POST", "/bulk/update", {"ids": homes, "update_data": {"bedrooms": 4},
                                        "dry_run": False})
    bad = api("POST", "/bulk/update", {"ids": homes, "update_data": {"bedrooms": 99, "price": -5},
                                       "dry_run": False, "rollback_on_error": False})

    assert good.json["successful_ids"] == homes
    assert bad.json["failed_ids"] == homes
    assert bad.json["failure_details"] == {str(h): (
        "Price must be a number of at least 0. Bedrooms must be a whole number from 0 to 50.")
        for h in homes}
    with server.app_context():
        assert [db.session.get(Entity, h).data for h in homes] == [
            {"price": "300000", "bedrooms": 4}] * 2


# ----------------------------------------------------------------------------- revert


def test_a_revert_to_a_value_the_fields_no_longer_allow_is_refused_naming_it(server, api):
    home = _property(api, _tree(server)["community"], price=900000)
    api("PATCH", f"/entities/{home['id']}", {"version": 1, "data": {"price": 450000}})
    _cap_prices_at(server, 500000)
    with server.app_context():
        edit = db.session.scalar(select(StatusChange.id).where(
            StatusChange.entity_id == home["id"]).order_by(StatusChange.id.desc()))

    answer = api("POST", f"/entities/{home['id']}/revert",
                 {"change_id": edit, "reason": "price typed wrong"})

    assert _refusal(answer) == {"data.price": "Price must be a number from 0 to 500,000."}
    assert "fields as they are now" in answer.json["message"]
    assert api("GET", f"/entities/{home['id']}").json["data"] == {"price": "450000"}


def _cap_prices_at(server, highest: int) -> None:
    """A config editor tightens the property's price field (a schema change)."""
    doc = load_pack("realestate")
    doc["types"] = {"property": doc["types"]["property"]}
    doc["types"]["property"]["fields"]["price"]["max"] = highest
    with server.app_context(), write_transaction(db.session):
        from webapp.core.changes.manager import StateManager

        packs.import_document(db.session, StateManager.get_instance().workflows,
                              json.loads(json.dumps(doc)), SEEDER, StateManager.get_instance().clock())

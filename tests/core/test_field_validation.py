"""Declared fields (CONTRACT §7): each kind's values read and stored one way, every bad value
named once, and every write path (create, PATCH, bulk update, bulk undo, revert) held to them."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import count_rows, make_entity, make_manager, make_user
from webapp.core.base.errors import InvalidInput
from webapp.core.base.sealed import is_sealed
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes import entities
from webapp.core.fields.secrets import Keyring
from webapp.core.fields.spec import parse_fields
from webapp.core.fields.validation import Lookups, check, default_problems, validate
from webapp.core.workflows import definition as workflow
from webapp.core.workflows import packs
from webapp.models import Entity, StatusChange, User

PRIORITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
ITEMS = {"description": {"type": "text", "required": True},
         "quantity": {"type": "integer", "min": 1, "default": 1},
         "unit_price": {"type": "decimal", "min": 0}}


def _one(kind: str, **spec: Any) -> dict:
    """The specs of a type with a single field ``value`` of that kind."""
    return parse_fields({"value": {"type": kind, **spec}})


def _check(specs, data, from_text=False, creating=True):
    return check(specs, data, lookups=Lookups(None, "gadget"), creating=creating,
                 from_text=from_text)


# ------------------------------------------------------------------ each kind, pure

STORED = {
    "text is trimmed": (("text", {}), "  4 Maple Lane ", "4 Maple Lane"),
    "textarea keeps lines, one line ending": (("textarea", {}), "one\r\ntwo", "one\ntwo"),
    "integer": (("integer", {"min": 0, "max": 50}), 3, 3),
    "integer sent as 4.0": (("integer", {}), 4.0, 4),
    "decimal from a JSON number": (("decimal", {"min": 0}), 12.5, "12.5"),
    "decimal keeps the digits typed": (("decimal", {}), "12.50", "12.50"),
    "decimal without a float's noise": (("decimal", {}), 0.1 + 0.2, "0.3"),
    "decimal from a whole number": (("decimal", {}), 300000, "300000"),
    "decimal minus zero": (("decimal", {}), "-0.0", "0.0"),
    "boolean": (("boolean", {}), False, False),
    "date": (("date", {}), "2025-03-01", "2025-03-01"),
    "datetime with an offset, in UTC": (("datetime", {}), "2025-03-01T10:30:00+02:00",
                                        "2025-03-01T08:30:00Z"),
    "datetime without a zone is UTC": (("datetime", {}), "2025-03-01T10:30", "2025-03-01T10:30:00Z"),
    "choice": (("choice", {"choices": PRIORITIES}), "HIGH", "HIGH"),
    "email, domain in lower case": (("email", {}), "Jo.Smith@Example.COM", "Jo.Smith@example.com"),
    "url": (("url", {}), "https://acme.example/homes?page=2", "https://acme.example/homes?page=2"),
    "phone as + and digits": (("phone", {}), "+1 (555) 010-0199", "+15550100199"),
    "reference id": (("reference", {"ref_type": "builder"}), 7, 7),
    "user name trimmed": (("user", {}), " kim ", "kim"),
    "location": (("location", {}), {"lat": 48, "lon": 2.35}, {"lat": 48.0, "lon": 2.35}),
    "list with item defaults on create": (
        ("list", {"item_fields": ITEMS}), [{"description": "Tile", "unit_price": 4}],
        [{"description": "Tile", "quantity": 1, "unit_price": "4"}]),
}


@pytest.mark.parametrize(("spec", "sent", "stored"), STORED.values(), ids=STORED.keys())
def test_each_kind_stores_a_good_value_in_one_form(spec, sent, stored):
    kind, extra = spec
    specs = _one(kind, **extra)

    assert validate(specs, {"value": sent}, lookups=Lookups(None, "gadget"), creating=True) == {
        "value": stored}
    # what is stored is itself valid, and stays as it is
    assert _check(specs, {"value": stored}) == ({"value": stored}, {})


REFUSED = {
    "text too long": (("text", {"max_length": 5}), "abcdef", "must be at most 5 characters long."),
    "text over lines": (("text", {}), "two\nlines", "must be one line of plain text."),
    "text as a number": (("text", {}), 12, "must be text."),
    "text off its pattern": (("text", {"pattern": "[A-Z]{2}-\\d+", "help": "e.g. CA-12."}), "ca12",
                             "is not in the expected form: e.g. CA-12."),
    "textarea with a NUL": (("textarea", {}), "a\x00b", "must be plain text (no control characters)."),
    "text with a lone surrogate": (("text", {}), "a\ud800b", "must be one line of plain text."),
    "integer as a JSON string": (("integer", {"min": 0, "max": 50}), "12",
                                 "must be a whole number from 0 to 50."),
    "integer with a fraction": (("integer", {}), 2.5, "must be a whole number."),
    "integer as a boolean": (("integer", {"min": 1}), True, "must be a whole number of at least 1."),
    "integer out of bounds": (("integer", {"min": 0, "max": 50}), 51,
                              "must be a whole number from 0 to 50."),
    "integer with 40 digits": (("integer", {}), 10**40, (
        "must be a whole number from -1,000,000,000,000,000 to 1,000,000,000,000,000.")),
    "decimal below its minimum": (("decimal", {"min": 0}), -1, "must be a number of at least 0."),
    "decimal above the limit of all numbers": (("decimal", {"min": 0}), 1e300,
                                               "must be a number from 0 to 1,000,000,000,000,000."),
    "decimal in exponent notation": (("decimal", {}), "1e5", "must be a number."),
    "decimal NaN": (("decimal", {}), float("nan"), "must be a number."),
    "decimal infinity": (("decimal", {}), float("inf"), "must be a number."),
    "decimal as text NaN": (("decimal", {}), "NaN", "must be a number."),
    "decimal too precise": (("decimal", {}), "0." + "1" * 20,
                            "must be a number with at most 15 decimal places."),
    "decimal as a list": (("decimal", {"max": 10}), [1], "must be a number of at most 10."),
    "boolean as text from JSON": (("boolean", {}), "true", "must be true or false."),
    "date that does not exist": (("date", {}), "2025-02-30", "must be a date (YYYY-MM-DD)."),
    "date written the US way": (("date", {}), "03/01/2025", "must be a date (YYYY-MM-DD)."),
    "datetime without a time": (("datetime", {}), "2025-03-01",
                                "must be a date and time, e.g. 2025-03-01T09:30:00Z."),
    "choice not offered": (("choice", {"choices": PRIORITIES}), "URGENT",
                           "must be one of LOW, MEDIUM, HIGH, CRITICAL."),
    "choice in another case": (("choice", {"choices": PRIORITIES}), "high",
                               "must be one of LOW, MEDIUM, HIGH, CRITICAL."),
    "email without a domain": (("email", {}), "jo@", "must be an email address."),
    "url of a script": (("url", {}), "javascript:alert(1)",
                        "must be a web address starting with http:// or https://."),
    "url with a broken host": (("url", {}), "http://[::1/x",
                               "must be a web address starting with http:// or https://."),
    "phone in words": (("phone", {}), "call me",
                       "must be a phone number of 7 to 15 digits (it may start with +)."),
    "reference as text from JSON": (("reference", {"ref_type": "sales_rep"}), "7",
                                    "must be the id of a sales rep."),
    "reference beyond any id": (("reference", {"ref_type": "attendance"}), 2**40,
                                "must be the id of an attendance."),
    "user as a number": (("user", {}), 5, "must be the username of an enabled user."),
    "location off the globe": (("location", {}), {"lat": 91, "lon": 0},
                               'must be a place: a latitude from -90 to 90 and a longitude from -180 to 180.'),
    "location half given": (("location", {}), {"lat": 1},
                            'must be a place: a latitude from -90 to 90 and a longitude from -180 to 180.'),
    "list as text": (("list", {"item_fields": ITEMS}), "tile", "must be a list of items."),
    "list too long": (("list", {"item_fields": ITEMS, "max": 1}), [{"description": "a"}] * 2,
                      "must have at most 1 item."),
    "deep nesting where a number belongs": (("integer", {}), [[[[[[[[[[1]]]]]]]]]],
                                            "must be a whole number."),
}


@pytest.mark.parametrize(("spec", "sent", "sentence"), REFUSED.values(), ids=REFUSED.keys())
def test_each_kind_refuses_a_bad_value_in_a_sentence_naming_the_field(spec, sent, sentence):
    kind, extra = spec
    specs = parse_fields({"reading": {"type": kind, "label": "Meter reading", **extra}})

    with pytest.raises(InvalidInput) as refused:
        validate(specs, {"reading": sent}, lookups=Lookups(None, "gadget"), creating=True)

    assert refused.value.fields == {"data.reading": f"Meter reading {sentence}"}
    assert refused.value.message == f"Meter reading {sentence}"


FROM_TEXT = {
    "integer": (("integer", {}), " 12 ", 12),
    "checkbox on": (("boolean", {}), "on", True),
    "false": (("boolean", {}), "FALSE", False),
    "decimal": (("decimal", {}), "1250.00", "1250.00"),
    "reference id": (("reference", {"ref_type": "builder"}), "17", 17),
    "location": (("location", {}), {"lat": "48.8566", "lon": "-2.35"}, {"lat": 48.8566, "lon": -2.35}),
    "list without its empty rows": (
        ("list", {"item_fields": ITEMS}),
        [{"description": "Tile", "quantity": "3", "unit_price": "4.50"},
         {"description": "", "quantity": "", "unit_price": ""}],
        [{"description": "Tile", "quantity": 3, "unit_price": "4.50"}]),
}


@pytest.mark.parametrize(("spec", "sent", "stored"), FROM_TEXT.values(), ids=FROM_TEXT.keys())
def test_forms_and_csv_send_every_value_as_text(spec, sent, stored):
    kind, extra = spec

    assert _check(_one(kind, **extra), {"value": sent}, from_text=True) == ({"value": stored}, {})


def test_text_input_still_refuses_what_is_not_of_the_kind():
    specs = parse_fields({"bedrooms": {"type": "integer"}, "pool": {"type": "boolean"},
                          "maker": {"type": "reference", "ref_type": "builder"}})

    _, errors = _check(specs, {"bedrooms": "3.5", "pool": "maybe", "maker": "²"}, from_text=True)

    assert errors == {"data.bedrooms": "Bedrooms must be a whole number.",
                      "data.pool": "Pool must be true or false.",
                      "data.maker": "Maker must be the id of a builder."}


def test_an_empty_value_means_no_value_and_is_not_stored():
    specs = parse_fields({"vendor": {"type": "text"}, "price": {"type": "decimal"},
                          "items": {"type": "list", "item_fields": ITEMS}})

    assert _check(specs, {"vendor": "  ", "price": None, "items": []}) == ({}, {})


# ------------------------------------------------------- the data as a whole, pure

PROPERTY = {
    "address": {"type": "text", "required": True},
    "price": {"type": "decimal", "min": 0},
    "bedrooms": {"type": "integer", "min": 0, "max": 50},
    "status_note": {"type": "choice", "choices": ["new", "reduced"], "default": "new"},
    "line_items": {"type": "list", "item_fields": ITEMS},
}


def test_every_bad_field_is_named_at_once_with_its_own_sentence():
    specs = parse_fields(PROPERTY)

    _, errors = check(specs, {"price": -5, "bedrooms": 51, "pool": True, "line_items": [
        {"description": "Tile", "quantity": 2}, {"quantity": 0, "part": "x"}, "tile"]},
        lookups=Lookups(None, "property"), creating=True)

    assert errors == {
        "data.pool": "Pool is not a field of property.",
        "data.address": "Address is required.",
        "data.price": "Price must be a number of at least 0.",
        "data.bedrooms": "Bedrooms must be a whole number from 0 to 50.",
        "data.line_items[1].part": "Part is not a field of line items.",
        "data.line_items[1].description": "Description is required.",
        "data.line_items[1].quantity": "Quantity must be a whole number of at least 1.",
        "data.line_items[2]": "Line items: item 3 must be an object with description, quantity, "
                              "unit price.",
    }


def test_a_default_fills_an_absent_value_on_create_only():
    specs = parse_fields(PROPERTY)
    lookups = Lookups(None, "property")

    created = validate(specs, {"address": "1 Elm St"}, lookups=lookups, creating=True)
    updated = validate(specs, {"address": "1 Elm St"}, lookups=lookups, creating=False, before={})

    assert created == {"address": "1 Elm St", "status_note": "new"}
    assert updated == {"address": "1 Elm St"}


def test_a_required_value_is_needed_on_create_and_cannot_be_removed_later():
    specs = parse_fields(PROPERTY)
    lookups = Lookups(None, "property")

    removed = check(specs, {}, lookups=lookups, creating=False, before={"address": "1 Elm St"})
    never_set = check(specs, {"price": 1}, lookups=lookups, creating=False, before={})

    assert removed[1] == {"data.address": "Address is required."}
    assert never_set == ({"price": "1"}, {})


def test_thousands_of_junk_keys_are_named_a_hundred_at_a_time():
    junk = {f"k{i}": i for i in range(5000)}

    _, errors = _check(parse_fields(PROPERTY), junk)

    assert len(errors) == 100


def test_a_default_its_own_field_refuses_is_reported_for_the_workflow_file():
    specs = parse_fields({"bedrooms": {"type": "integer", "min": 0, "default": -1},
                          "kind": {"type": "choice", "choices": ["a"], "default": "a"}})

    assert default_problems(specs) == [
        "The default of 'bedrooms': Bedrooms must be a whole number of at least 0."]


# ------------------------------------------------------------------ the database

GADGET = {
    "label": "Gadget", "initial": "new",
    "states": {"new": {}, "DONE": {"category": "closed", "terminal": True}},
    "transitions": [{"name": "finish", "from": ["new"], "to": "DONE"}],
}
GADGET_FIELDS = {
    "serial": {"type": "text", "unique": True},
    "code": {"type": "integer", "unique": True},
    "owner_email": {"type": "email", "unique": True},
    "weight": {"type": "decimal", "min": 0, "max": 100},
    "maker": {"type": "reference", "ref_type": "builder"},
    "keeper": {"type": "user"},
}


def _install(manager, session, admin, name="gadget", fields=None):
    """Install (or replace) a custom type; ``fields=None`` declares GADGET_FIELDS, {} none."""
    doc = {**GADGET, "fields": GADGET_FIELDS if fields is None else fields}
    if not doc["fields"]:
        del doc["fields"]
    with write_transaction(session):
        packs.import_document(session, manager.workflows, {"pack": "test", "types": {name: doc}},
                              admin, manager.clock())


@pytest.fixture
def gadgets(manager, session, admin):
    _install(manager, session, admin)
    return lambda **data: make_entity(manager, session, admin, "gadget", data=data)


def _refused(call) -> dict[str, str]:
    with pytest.raises(InvalidInput) as refused:
        call()
    return refused.value.fields


def test_a_reference_must_name_an_entity_of_its_type(manager, session, admin, gadgets):
    builder = make_entity(manager, session, admin, "builder")
    community = make_entity(manager, session, admin, "community", parent_id=builder.id)

    assert gadgets(maker=builder.id).data == {"maker": builder.id}
    assert _refused(lambda: gadgets(maker=community.id)) == {
        "data.maker": f"Maker must be the id of a builder; there is no builder with id {community.id}."}
    assert _refused(lambda: gadgets(maker=999_999)) == {
        "data.maker": "Maker must be the id of a builder; there is no builder with id 999999."}


def test_a_user_field_takes_the_username_of_an_enabled_user(session, gadgets):
    make_user(session, username="kim")
    gone = make_user(session, username="lee")
    with write_transaction(session):
        session.get(User, gone.id).is_enabled = False

    assert gadgets(keeper="kim").data == {"keeper": "kim"}
    assert _refused(lambda: gadgets(keeper="lee")) == {
        "data.keeper": "Keeper must be the username of an enabled user; 'lee' is not one."}
    assert _refused(lambda: gadgets(keeper="Kim Tanaka")) == {
        "data.keeper": "Keeper must be the username of an enabled user; 'kim tanaka' is not one."}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request, clock, admin):
    """(manager, session) with the packs, on SQLite and then on PostgreSQL."""
    session = request.getfixturevalue("session" if request.param == "sqlite" else "pg_session")
    return make_manager(session, clock, admin), session


def test_a_unique_value_is_refused_when_another_entity_of_the_type_has_it(any_db, admin):
    manager, session = any_db
    _install(manager, session, admin)

    def gadgets(**data):
        return make_entity(manager, session, admin, "gadget", data=data)

    first = gadgets(serial="SN-1", code=7, owner_email="jo@example.com")
    before = count_rows(session)

    assert _refused(lambda: gadgets(serial="SN-1", code=7, owner_email="JO@example.com")) == {
        "data.serial": "Serial must be unique: another gadget has 'SN-1'.",
        "data.code": "Code must be unique: another gadget has 7.",
        "data.owner_email": "Owner email must be unique: another gadget has 'JO@example.com'.",
    }
    assert count_rows(session) == before
    # its own value is no clash, and another type may hold the same value
    manager.update_entity(session, admin, first.id, version=first.version,
                          data={"serial": "SN-1", "weight": 3})
    _install(manager, session, admin, "widget")
    assert make_entity(manager, session, admin, "widget", data={"serial": "SN-1"}).data == {
        "serial": "SN-1"}


def test_a_patch_is_merged_then_the_whole_result_is_checked(manager, session, admin):
    _install(manager, session, admin, fields={"title": {"type": "text", "required": True},
                                              "weight": {"type": "decimal", "min": 0}})
    gadget = make_entity(manager, session, admin, "gadget", data={"title": "Drill", "weight": 2})

    updated = manager.update_entity(session, admin, gadget.id, version=1, data={"weight": 2.75})
    assert updated.data == {"title": "Drill", "weight": "2.75"}
    assert _refused(lambda: manager.update_entity(
        session, admin, gadget.id, version=2, data={"title": None, "weight": -1, "colour": "red"})) == {
        "data.colour": "Colour is not a field of gadget.",
        "data.title": "Title is required.",
        "data.weight": "Weight must be a number of at least 0."}


def test_values_a_patch_leaves_alone_are_not_looked_up_again(manager, session, admin):
    """A keeper disabled since does not block an edit of another field; setting one does."""
    make_user(session, username="kim")
    _install(manager, session, admin)
    gadget = make_entity(manager, session, admin, "gadget", data={"keeper": "kim"})
    with write_transaction(session):
        session.query(User).filter_by(username="kim").one().is_enabled = False

    edited = manager.update_entity(session, admin, gadget.id, version=1, data={"weight": 1})

    assert edited.data == {"keeper": "kim", "weight": "1"}
    other = make_entity(manager, session, admin, "gadget")
    assert _refused(lambda: manager.update_entity(
        session, admin, other.id, version=1, data={"keeper": "kim"})) == {
        "data.keeper": "Keeper must be the username of an enabled user; 'kim' is not one."}


def test_a_type_without_fields_keeps_free_form_data(manager, session, admin):
    _install(manager, session, admin, fields={})

    gadget = make_entity(manager, session, admin, "gadget", data={"anything": {"nested": [1, "x"]}})

    assert gadget.data == {"anything": {"nested": [1, "x"]}}
    assert list(_refused(lambda: make_entity(manager, session, admin, "gadget",
                                             data={"score": float("nan")}))) == ["data"]


def test_the_built_in_packs_declare_the_contracts_fields(manager, session):
    wanted = {
        "property": {"address": "text", "price": "decimal", "bedrooms": "integer", "listed_on": "date"},
        "builder": {"license_number": "text", "contact_email": "email"},
        "sales_rep": {"email": "email", "phone": "phone"},
        "work_order": {"vendor": "text", "priority": "choice", "line_items": "list"},
        "task": {"assignee": "user", "meter_reading": "decimal"},
        "attendance": {"worker": "user", "site_location": "location",
                       "check_in_location": "location", "hours": "decimal"},
        "ticket": {"priority": "choice", "customer_email": "email"},
        "subscription": {"expires_at": "datetime"}, "feature_flag": {"expires_at": "datetime"},
        "user_account": {"email": "email"},
    }
    workflows = manager.workflows.all(session)

    for type_, fields in wanted.items():
        declared = workflows[type_].fields
        assert {name: declared[name].type for name in fields} == fields, type_
    assert workflows["ticket"].fields["priority"].required
    assert workflows["builder"].fields["license_number"].unique
    assert workflows["sales_rep"].fields["phone"].sensitive
    assert workflows["work_order"].fields["line_items"].item_fields["quantity"].min == 1


# ------------------------------------------------------------------ bulk and revert


def _cid() -> str:
    return str(uuid.uuid4())


def test_a_bulk_update_fails_each_item_with_its_fields_sentences(manager, session, admin, gadgets):
    light, heavy = gadgets(weight=10), gadgets(weight=20, serial="SN-9")

    result = bulk.run(session, manager, admin, BulkRequest(
        "update", (light.id, heavy.id), update_data={"weight": "120", "serial": "SN-9", "hue": 1},
        rollback_on_error=False), _cid())

    assert result.successful_ids == []
    assert result.failure_details == {
        light.id: "Hue is not a field of gadget. Weight must be a number from 0 to 100. "
                  "Serial must be unique: another gadget has 'SN-9'.",
        heavy.id: "Hue is not a field of gadget. Weight must be a number from 0 to 100."}


def test_a_bulk_update_stores_values_as_their_fields_do_and_one_unique_value_once(
        manager, session, admin, gadgets):
    first, second = gadgets(), gadgets()

    result = bulk.run(session, manager, admin, BulkRequest(
        "update", (first.id, second.id), update_data={"weight": 7.5, "serial": "SN-5"},
        rollback_on_error=False), _cid())

    assert result.successful_ids == [first.id]
    assert result.failure_details == {
        second.id: "Serial must be unique: another gadget has 'SN-5'."}
    session.rollback()
    assert session.get(Entity, first.id).data == {"weight": "7.5", "serial": "SN-5"}


def test_a_bulk_assign_needs_an_enabled_user_where_the_type_declares_one(manager, session, admin):
    make_user(session, username="kim")
    tasks = [make_entity(manager, session, admin, "task").id for _ in range(2)]
    builder = make_entity(manager, session, admin, "builder")

    done = bulk.run(session, manager, admin, BulkRequest("assign", tuple(tasks), assignee="kim"), _cid())
    refused = bulk.run(session, manager, admin, BulkRequest(
        "assign", (tasks[0], builder.id), assignee="nobody", rollback_on_error=False), _cid())

    assert done.successful_ids == tasks
    assert refused.failure_details == {
        tasks[0]: "Assigned to must be the username of an enabled user; 'nobody' is not one.",
        builder.id: "Assignee is not a field of builder."}


def _tighten(manager, session, admin, **weight):
    _install(manager, session, admin, fields={**GADGET_FIELDS,
                                              "weight": {"type": "decimal", "min": 0, **weight}})


def test_a_revert_to_data_the_fields_no_longer_allow_is_refused_even_when_forced(
        manager, session, admin, gadgets):
    gadget = gadgets(weight=90)
    manager.update_entity(session, admin, gadget.id, version=1, data={"weight": 50})
    _tighten(manager, session, admin, max=60)
    last = max(r.id for r in _history(session, gadget.id))
    before = count_rows(session)

    fields = _refused(lambda: manager.revert(session, admin, gadget.id, change_id=last,
                                             reason="wrong weight", force=True))

    assert fields == {"data.weight": "Weight must be a number from 0 to 60."}
    assert count_rows(session) == before
    assert manager.get(session, gadget.id).data == {"weight": "50"}


def test_a_revert_to_data_that_still_fits_is_written(manager, session, admin, gadgets):
    gadget = gadgets(weight=90)
    manager.update_entity(session, admin, gadget.id, version=1, data={"weight": 50})
    last = max(r.id for r in _history(session, gadget.id))

    outcome = manager.revert(session, admin, gadget.id, change_id=last, reason="wrong weight")

    assert outcome.entity.data == {"weight": "90"}


def test_a_bulk_undo_leaves_an_entity_whose_old_data_no_longer_fits(manager, session, admin, gadgets):
    heavy, light = gadgets(weight=90), gadgets(weight=10)
    cid = _cid()
    bulk.run(session, manager, admin, BulkRequest("update", (heavy.id, light.id),
                                                  update_data={"weight": 20}), cid)
    _tighten(manager, session, admin, max=60)

    undone = bulk.run(session, manager, admin, BulkRequest(
        "undo", (heavy.id, light.id), undo_of=cid, rollback_on_error=False), _cid())

    assert undone.successful_ids == [light.id]
    assert undone.failure_details == {heavy.id: (
        f"Gadget {heavy.name!r} cannot be restored: Weight must be a number from 0 to 60.")}


def _history(session, entity_id):
    session.rollback()
    return session.scalars(select(StatusChange).where(StatusChange.entity_id == entity_id)).all()



# ---------------------------------------------------------- sensitive values, sealed

CONTACT = {**GADGET, "fields": {"phone": {"type": "phone", "sensitive": True},
                                "note": {"type": "text"}}}


def test_with_a_keyring_sensitive_values_are_stored_sealed_and_checked_as_plaintext(session):
    wf = workflow.parse("contact", CONTACT)
    keyring = Keyring.ephemeral()

    def write(data, before=None):
        return entities.check_data(wf, data, lookups=Lookups(session, "contact"),
                                   creating=before is None, before=before, keyring=keyring)

    stored = write({"phone": "+44 20 7946 0958", "note": "front desk"})
    noted = write(entities.merge_patch(stored, {"note": "back office"}), before=stored)
    moved = write(entities.merge_patch(stored, {"phone": "+44 20 7946 0000"}), before=stored)

    assert is_sealed(stored["phone"]) and "7946" not in stored["phone"]
    assert keyring.unseal(wf.fields, stored) == {"phone": "+442079460958", "note": "front desk"}
    assert noted["phone"] == stored["phone"]  # an untouched value keeps its token
    assert moved["phone"] != stored["phone"]
    assert keyring.unseal(wf.fields, moved)["phone"] == "+442079460000"
    assert _refused(lambda: write(entities.merge_patch(stored, {"phone": "call me"}),
                                  before=stored)) == {
        "data.phone": "Phone must be a phone number of 7 to 15 digits (it may start with +)."}

"""Creating and editing entities: merge patches, stale versions, and bad input that writes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import count_rows, make_entity, make_realestate
from webapp.core.base.errors import ConcurrencyConflict, InvalidInput, NotFound
from webapp.core.base.transactions import write_transaction
from webapp.core.changes import entities, history
from webapp.core.workflows import packs
from webapp.models.entity import NAME_MAX

# RFC 7396, Appendix A: (target, patch, result).
RFC_7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target, patch, result", RFC_7396_EXAMPLES)
def test_merge_patch_follows_every_example_of_rfc_7396(target, patch, result):
    assert entities.merge_patch(target, patch) == result


def test_merge_patch_leaves_the_original_untouched():
    target = {"a": {"b": 1}}
    entities.merge_patch(target, {"a": {"b": 2, "c": 3}})
    assert target == {"a": {"b": 1}}


# --------------------------------------------------------------------------- update


def test_a_data_patch_merges_nested_objects_and_null_deletes_a_key(manager, session, support):
    shift = make_entity(manager, session, support, "attendance", data={
        "hours": 8, "site_location": {"lat": 52.52, "lon": 13.405}, "work_date": "2025-03-03"})
    updated = manager.update_entity(session, support, shift.id, version=1, data={
        "site_location": {"lat": 52.53}, "work_date": None, "checked_in_at": "2025-03-03T08:58:00Z"})
    assert updated.data == {"hours": "8", "site_location": {"lat": 52.53, "lon": 13.405},
                            "checked_in_at": "2025-03-03T08:58:00Z"}
    assert updated.version == 2
    session.rollback()
    assert manager.get(session, shift.id).data == updated.data


def test_a_rename_and_a_data_change_are_one_history_row_of_action_update(manager, session, support):
    builder = make_entity(manager, session, support, "builder", name="Acme",
                          data={"headquarters": "Oslo"})
    manager.update_entity(session, support, builder.id, version=builder.version,
                          name="  Acme Homes ", data={"headquarters": "Bergen"})
    row = history.page(session, builder.id, limit=1)[0][0]
    assert (row.old_status, row.new_status, row.action, row.source) == (
        "active", "active", "update", "api")
    assert row.meta == {"data": {"before": {"headquarters": "Oslo"},
                                 "after": {"headquarters": "Bergen"}},
                        "name": {"before": "Acme", "after": "Acme Homes"}}
    assert manager.get(session, builder.id).name == "Acme Homes"


def test_a_stale_version_is_a_conflict_naming_both_versions(manager, session, support):
    order = make_entity(manager, session, support, "work_order")
    manager.update_entity(session, support, order.id, version=1, data={"vendor": "Acme"})
    before = count_rows(session)
    with pytest.raises(ConcurrencyConflict) as refused:
        manager.update_entity(session, support, order.id, version=1, data={"vendor": "Bolt"})
    assert refused.value.status == 409
    assert refused.value.to_dict() | {"message": ""} == {
        "error": "concurrency_conflict", "message": "", "your_version": 1, "current_version": 2}
    assert count_rows(session) == before
    assert manager.get(session, order.id).data == {"vendor": "Acme"}


def test_a_transition_with_a_stale_version_is_a_conflict(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    manager.transition(session, support, prop.id, "pending", version=1)
    with pytest.raises(ConcurrencyConflict) as refused:
        manager.transition(session, support, prop.id, "reserved", version=1)
    assert (refused.value.extra["your_version"], refused.value.extra["current_version"]) == (1, 2)


def test_a_patch_that_changes_nothing_keeps_the_version_and_writes_no_history(
        manager, session, support):
    order = make_entity(manager, session, support, "work_order", data={"vendor": "Acme"})
    before = count_rows(session)
    same = manager.update_entity(session, support, order.id, version=1,
                                 data={"vendor": "Acme", "ghost": None})
    after = count_rows(session)
    assert same.version == 1
    assert (after["status_changes"], after["outbox_events"]) == (
        before["status_changes"], before["outbox_events"])


def test_a_patch_that_changes_nothing_is_not_audited(manager, session, support):
    order = make_entity(manager, session, support, "work_order", data={"vendor": "Acme"})
    before = count_rows(session)
    manager.update_entity(session, support, order.id, version=order.version, data={"vendor": "Acme"})
    assert count_rows(session) == before


# ------------------------------------------------------------------------ bad input

BIG = {"blob": "x" * (64 * 1024)}


def _create(manager, session, actor, **fields):
    return lambda: manager.create_entity(session, actor, **fields)


BAD_CREATES = {
    "unknown type": ({"type": "spaceship", "name": "x"}, "type"),
    "no type": ({"name": "x"}, "type"),
    "unknown state": ({"type": "property", "name": "x", "status": "demolished"}, "status"),
    "empty name": ({"type": "builder", "name": "   "}, "name"),
    "name not text": ({"type": "builder", "name": 42}, "name"),
    "name too long": ({"type": "builder", "name": "n" * (NAME_MAX + 1)}, "name"),
    "name with NUL": ({"type": "builder", "name": "Acme\x00"}, "name"),
    "data not an object": ({"type": "builder", "name": "x", "data": ["a"]}, "data"),
    # a type without declared fields ("journal") takes free-form data, within these bounds
    "data too large": ({"type": "journal", "name": "x", "data": BIG}, "data"),
    "data with NaN": ({"type": "journal", "name": "x", "data": {"score": float("nan")}}, "data"),
    "data with a set": ({"type": "journal", "name": "x", "data": {"tags": {"a"}}}, "data"),
    "data with NUL": ({"type": "journal", "name": "x", "data": {"note": "a\x00b"}}, "data"),
    "data with a lone surrogate": ({"type": "journal", "name": "x", "data": {"note": "a\ud800"}},
                                   "data"),
    # a type with fields names the field
    "undeclared data key": ({"type": "builder", "name": "x", "data": {"score": 1}}, "data.score"),
    "data with NaN in a field": ({"type": "property", "name": "x", "data": {"price": float("nan")}},
                                 "data.price"),
    "unknown field": ({"type": "builder", "name": "x", "colour": "red"}, "colour"),
    "parent on a parentless type": ({"type": "builder", "name": "x", "parent_id": 1}, "parent_id"),
    "parent id not a number": ({"type": "community", "name": "x", "parent_id": "1"}, "parent_id"),
    "activity not a time": ({"type": "builder", "name": "x", "last_activity_at": "today"},
                            "last_activity_at"),
}


@pytest.fixture
def journal(manager, session, admin) -> str:
    """A type without declared fields: its data is free-form."""
    doc = {"types": {"journal": {"initial": "open", "states": {"open": {}, "CLOSED": {
        "category": "closed", "terminal": True}}, "transitions": [
        {"name": "close", "from": ["open"], "to": "CLOSED"}]}}}
    with write_transaction(session):
        packs.import_document(session, manager.workflows, doc, admin, manager.clock())
    return "journal"


@pytest.mark.parametrize("fields, field", BAD_CREATES.values(), ids=BAD_CREATES.keys())
def test_creating_with_bad_input_is_refused_naming_the_field_and_writes_nothing(
        manager, session, support, journal, fields, field):
    before = count_rows(session)
    with pytest.raises(InvalidInput) as refused:
        manager.create_entity(session, support, **fields)
    assert field in refused.value.fields, refused.value.fields
    assert refused.value.status == 400
    assert count_rows(session) == before


@pytest.mark.parametrize("parent", ["builder", "sales_rep", "missing"])
def test_a_parent_of_the_wrong_type_is_refused(manager, session, support, parent):
    estate = make_realestate(manager, session, support, properties=0, reps=1)
    parent_id = {"builder": estate.builder.id, "sales_rep": estate.reps[0].id,
                 "missing": 10**6}[parent]
    before = count_rows(session)
    with pytest.raises(InvalidInput) as refused:
        manager.create_entity(session, support, type="property", name="Lot", parent_id=parent_id)
    assert refused.value.message == "The parent of a property must be a community."
    assert count_rows(session) == before


def test_a_child_is_created_under_a_parent_of_the_right_type(manager, session, support):
    estate = make_realestate(manager, session, support, properties=1, reps=1)
    assert estate.properties[0].parent_id == estate.community.id
    assert estate.reps[0].parent_id == estate.builder.id
    assert estate.community.parent_id == estate.builder.id


BAD_UPDATES = {
    "no version": ({"version": None, "data": {"a": 1}}, InvalidInput),
    "version as text": ({"version": "1", "data": {"a": 1}}, InvalidInput),
    "version as bool": ({"version": True, "data": {"a": 1}}, InvalidInput),
    "stale version": ({"version": 0, "data": {"a": 1}}, ConcurrencyConflict),
    "name too long": ({"version": 1, "name": "n" * (NAME_MAX + 1)}, InvalidInput),
    "blank name": ({"version": 1, "name": " "}, InvalidInput),
    "text longer than its field allows": ({"version": 1, "data": {"description": "x" * 6000}},
                                          InvalidInput),
    "data patch not an object": ({"version": 1, "data": "text"}, InvalidInput),
    "bad enum value": ({"version": 1, "data": {"priority": "URGENT"}}, InvalidInput),
    "NaN in data": ({"version": 1, "data": {"score": float("inf")}}, InvalidInput),
}


@pytest.mark.parametrize("patch, error", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_a_bad_update_is_refused_and_writes_nothing(manager, session, support, patch, error):
    ticket = make_entity(manager, session, support, "ticket", name="Leak",
                         data={"priority": "LOW"})
    before = count_rows(session)
    with pytest.raises(error):
        manager.update_entity(session, support, ticket.id, **patch)
    assert count_rows(session) == before
    session.rollback()
    current = manager.get(session, ticket.id)
    assert (current.name, current.data, current.version) == ("Leak", {"priority": "LOW"}, 1)


@pytest.mark.parametrize("entity_id", [10**6, "1", None, True])
def test_an_unknown_entity_id_is_not_found(manager, session, support, entity_id):
    with pytest.raises(NotFound):
        manager.transition(session, support, entity_id, "pending")
    with pytest.raises(NotFound):
        manager.get(session, entity_id)


def test_a_transition_to_an_unknown_state_writes_nothing(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    before = count_rows(session)
    for to in ["demolished", "", None, 7]:
        with pytest.raises(InvalidInput):
            manager.transition(session, support, prop.id, to)
    assert count_rows(session) == before


# --------------------------------------------------------------------------- create


def test_a_new_entity_starts_in_the_initial_state_with_a_creation_history_row(
        manager, session, support, clock):
    order = make_entity(manager, session, support, "work_order", name="Fix gutter",
                        data={"vendor": "Acme"})
    assert entities.to_dict(order) == {
        "id": order.id, "type": "work_order", "name": "Fix gutter", "status": "DRAFT",
        "version": 1, "data": {"vendor": "Acme"}, "parent_id": None,
        "last_activity_at": clock().isoformat(), "status_changed_at": clock().isoformat(),
        "created_at": clock().isoformat(), "updated_at": clock().isoformat()}
    row = history.page(session, order.id)[0][0]
    assert (row.old_status, row.new_status, row.action, row.source) == (
        None, "DRAFT", "create", "api")


def test_an_entity_created_with_a_status_or_activity_time_is_an_import(
        manager, session, support, clock):
    imported = make_entity(manager, session, support, "property", status="RESERVED")
    dated = make_entity(manager, session, support, "builder",
                        last_activity_at=clock() - timedelta(days=100))
    assert imported.status == "reserved"
    assert dated.last_activity_at == clock() - timedelta(days=100)
    assert [history.page(session, e.id)[0][0].source for e in (imported, dated)] == [
        "import", "import"]

"""Rules over declared fields, as a user meets them: a decimal compares as a number, a date as a
date, a list counts only with items, refusals name the field by its title, and the geofence
keeps attendance approvals to check-ins near the site (CONTRACT §7)."""
from __future__ import annotations

import pytest

from tests.factories import make_entity
from webapp.core.base.errors import RuleViolation
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import packs
from webapp.core.workflows.definition import RuleSpec
from webapp.core.workflows.rules import distance_m, evaluate, field_problems, validate_params

FIELDS = {
    "score": {"type": "decimal", "label": "Score"},
    "due": {"type": "date", "label": "Due date"},
    "started_at": {"type": "datetime", "label": "Started at"},
    "parts": {"type": "list", "label": "Parts", "item_fields": {"name": {"type": "text"}}},
    "inspector": {"type": "text"},
    "here": {"type": "location"},
}


def _inspections(manager, session, admin, clock, *rules):
    """A custom type whose one move, "pass", is guarded by ``rules``."""
    doc = {"pack": "custom", "types": {"inspection": {
        "initial": "open", "fields": FIELDS,
        "states": {"open": {}, "PASSED": {"terminal": True, "category": "closed"}},
        "transitions": [{"name": "pass", "from": "open", "to": "PASSED", "rules": list(rules)}]}}}
    with write_transaction(session):
        packs.import_document(session, manager.workflows, doc, admin, clock())


def _refusal(manager, session, actor, entity):
    """The sentences a move to PASSED is refused with (None when it is taken)."""
    try:
        manager.transition(session, actor, entity.id, "PASSED")
    except RuleViolation as refused:
        return refused.messages
    return None


def _condition(field, op, value):
    return {"kind": "field_condition", "params": {"field": field, "op": op, "value": value}}


# ----------------------------------------------------------------------- field_condition

@pytest.mark.parametrize("score, refusal", [
    ("9.5", None),
    ("10", ["Score is 10; it must be less than 10 to pass."]),
    ("10.25", ["Score is 10.25; it must be less than 10 to pass."]),
])
def test_a_decimal_compares_as_a_number_not_as_text(manager, session, admin, clock, score, refusal):
    _inspections(manager, session, admin, clock, _condition("score", "lt", "10"))
    inspection = make_entity(manager, session, admin, "inspection", data={"score": score})
    assert _refusal(manager, session, admin, inspection) == refusal


def test_a_rule_value_written_as_a_json_number_compares_with_a_stored_decimal(
        manager, session, admin, clock):
    _inspections(manager, session, admin, clock, _condition("score", "gte", 9))
    inspection = make_entity(manager, session, admin, "inspection", data={"score": "9.50"})
    assert _refusal(manager, session, admin, inspection) is None


def test_one_of_several_decimals_matches_whatever_the_trailing_zeros(manager, session, admin, clock):
    _inspections(manager, session, admin, clock, _condition("score", "in", ["1", "2.5"]))
    inspection = make_entity(manager, session, admin, "inspection", data={"score": "2.50"})
    assert _refusal(manager, session, admin, inspection) is None


@pytest.mark.parametrize("due, refusal", [
    ("2025-03-31", None),
    ("2025-04-02", ["Due date is 2025-04-02; it must be at most 2025-03-31 to pass."]),
])
def test_a_date_compares_as_a_date(manager, session, admin, clock, due, refusal):
    _inspections(manager, session, admin, clock, _condition("due", "lte", "2025-03-31"))
    inspection = make_entity(manager, session, admin, "inspection", data={"due": due})
    assert _refusal(manager, session, admin, inspection) == refusal


def test_a_datetime_compares_as_a_moment_whatever_its_offset(manager, session, admin, clock):
    # 09:30Z is after 10:00+01:00 (09:00Z), although "T09" sorts before "T10" as text.
    _inspections(manager, session, admin, clock,
                 _condition("started_at", "gte", "2025-03-01T10:00:00+01:00"))
    inspection = make_entity(manager, session, admin, "inspection",
                             data={"started_at": "2025-03-01T09:30:00Z"})
    assert _refusal(manager, session, admin, inspection) is None


def test_a_missing_value_is_said_as_not_filled_in(manager, session, admin, clock):
    _inspections(manager, session, admin, clock, _condition("score", "gte", "70"))
    inspection = make_entity(manager, session, admin, "inspection")
    assert _refusal(manager, session, admin, inspection) == [
        "Score is not filled in; it must be at least 70 to pass."]


# ----------------------------------------------------------------------- required_fields

def test_required_fields_are_named_by_their_titles(manager, session, admin, clock):
    _inspections(manager, session, admin, clock,
                 {"kind": "required_fields", "params": {"fields": ["inspector", "parts"]}})
    inspection = make_entity(manager, session, admin, "inspection", data={"parts": []})
    assert _refusal(manager, session, admin, inspection) == [
        "Inspector and Parts are required before it can pass."]
    ready = make_entity(manager, session, admin, "inspection",
                        data={"inspector": "Kim", "parts": [{"name": "valve"}]})
    assert _refusal(manager, session, admin, ready) is None


def test_a_list_stored_empty_is_not_there(manager, session, admin, clock):
    _inspections(manager, session, admin, clock,
                 {"kind": "required_fields", "params": {"fields": ["parts"]}})
    inspection = make_entity(manager, session, admin, "inspection")
    inspection.data = {"parts": []}  # as a type that declared no fields might have kept it
    failures = evaluate(manager.rule_context(session, clock(), action="pass"),
                        manager.workflow(session, "inspection").by_name("pass").rules, [inspection])
    assert failures == {inspection.id: ["Parts is required before it can pass."]}


def test_a_work_order_needs_its_vendor_before_it_can_be_approved(manager, session, support):
    order = make_entity(manager, session, support, "work_order", name="Fix roof")
    manager.transition(session, support, order.id, "SUBMITTED")
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, order.id, "APPROVED")
    assert refused.value.messages == ["Vendor is required before it can approve."]


# ------------------------------------------------------------------------------ geofence

SITE = {"lat": 37.79493, "lon": -122.39432}


def _north_of_site(meters: float) -> dict[str, float]:
    return {"lat": round(SITE["lat"] + meters / 111_195.0, 6), "lon": SITE["lon"]}


def _sheet(manager, session, actor, **data):
    return make_entity(manager, session, actor, "attendance", data=data)


def test_haversine_measures_along_the_earths_surface():
    assert distance_m((0, 0), (1, 0)) == pytest.approx(111_195, abs=1)
    assert distance_m((51.5074, -0.1278), (48.8566, 2.3522)) == pytest.approx(343_560, rel=0.002)
    assert distance_m((SITE["lat"], SITE["lon"]), (SITE["lat"], SITE["lon"])) == 0


def test_attendance_checked_in_near_the_site_is_approved(manager, session, support):
    sheet = _sheet(manager, session, support, site_location=SITE,
                   check_in_location=_north_of_site(150))
    assert manager.transition(session, support, sheet.id, "APPROVED").entity.status == "APPROVED"


def test_attendance_checked_in_far_from_the_site_is_refused_saying_how_far(
        manager, session, support):
    sheet = _sheet(manager, session, support, site_location=SITE,
                   check_in_location=_north_of_site(450))
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, sheet.id, "APPROVED")
    assert refused.value.messages == [(
        "Check-in location is 450 m from Site location; it must be within 200 m "
        "(setting attendance_geofence_meters) to approve.")]
    assert manager.get(session, sheet.id).status == "PENDING"


@pytest.mark.parametrize("data, missing", [
    ({"site_location": SITE}, "Check-in location is not filled in"),
    ({"check_in_location": SITE}, "Site location is not filled in"),
    ({}, "Check-in location and Site location are not filled in"),
])
def test_attendance_without_a_location_is_refused_with_a_clear_sentence(
        manager, session, support, data, missing):
    sheet = _sheet(manager, session, support, **data)
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, sheet.id, "APPROVED")
    assert refused.value.messages == [
        f"{missing}; to approve, Check-in location must be within 200 m of Site location."]


def test_a_wider_geofence_setting_takes_effect_at_once(manager, session, support, admin, clock):
    sheet = _sheet(manager, session, support, site_location=SITE,
                   check_in_location=_north_of_site(450))
    with pytest.raises(RuleViolation):
        manager.transition(session, support, sheet.id, "APPROVED")
    with write_transaction(session):
        manager.settings.apply(session, manager.settings.validate(
            session, {"attendance_geofence_meters": 500}), admin.name, clock())
    assert manager.transition(session, support, sheet.id, "APPROVED").entity.status == "APPROVED"


def test_the_allowed_moves_list_the_geofence_refusal(manager, session, support):
    sheet = _sheet(manager, session, support, site_location=SITE,
                   check_in_location=_north_of_site(1_500))
    approve = next(m for m in manager.allowed_transitions(session, support, sheet.id)
                   if m["action"] == "approve")
    assert approve["allowed"] is False
    assert approve["reasons"][0].startswith("Check-in location is 1,500 m from Site location")


def test_a_batch_is_checked_in_one_pass_each_entity_on_its_own(manager, session, support, clock):
    near, far = (_sheet(manager, session, support, site_location=SITE,
                        check_in_location=_north_of_site(m)) for m in (50, 300))
    rules = manager.workflow(session, "attendance").by_name("approve").rules
    failures = evaluate(manager.rule_context(session, clock(), action="approve"), rules, [near, far])
    assert list(failures) == [far.id]


# ------------------------------------------------------------------ checking the rule itself

def test_a_geofence_needs_a_known_distance_setting():
    spec = RuleSpec("geofence", {"field": "a", "center_field": "b", "meters_setting": "nope"})
    assert validate_params(spec) == {
        "meters_setting": "is not a known setting (a distance in meters)"}


def test_a_rule_naming_fields_is_checked_against_the_declared_ones(manager, session):
    fields = manager.workflow(session, "attendance").fields
    fence = {"field": "check_in_location", "center_field": "site_location",
             "meters_setting": "attendance_geofence_meters"}
    assert field_problems(RuleSpec("geofence", fence), fields) == {}
    assert field_problems(RuleSpec("geofence", fence | {"field": "hours"}), fields) == {
        "field": "names 'hours', a decimal field; it needs a location field"}
    assert field_problems(RuleSpec("required_fields", {"fields": ["worker", "gps"]}), fields) == {
        "fields": "names 'gps', which is not a declared field"}
    assert field_problems(RuleSpec("field_condition", {"field": "hours", "op": "lt",
                                                       "value": "lots"}), fields) == {
        "value": "must be a number to compare with Hours"}


def test_a_type_without_declared_fields_accepts_any_field_name():
    assert field_problems(RuleSpec("required_fields", {"fields": ["anything"]}), {}) == {}


def test_a_condition_on_a_list_field_is_refused_in_words(manager, session):
    fields = manager.workflow(session, "work_order").fields
    spec = RuleSpec("field_condition", {"field": "line_items", "op": "eq", "value": "x"})
    assert field_problems(spec, fields) == {
        "field": "names 'line_items', a list field; this kind of rule cannot use one"}

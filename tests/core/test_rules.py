"""Every rule kind of the built-in packs, as a user meets it: refused with a sentence, or let through."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import count_rows, make_entity, make_realestate, make_user
from webapp.core.base.errors import InvalidInput, InvalidTransition, RuleViolation
from webapp.core.base.transactions import write_transaction
from webapp.core.changes import history
from webapp.core.workflows import packs


def _move(manager, session, actor, entity, *path, reason=None):
    """Walk ``entity`` through ``path`` of states, one committed transition each."""
    for state in path:
        manager.transition(session, actor, entity.id, state, reason=reason)
    return manager.get(session, entity.id)


# ------------------------------------------------------------------------ min_age


def test_a_builder_younger_than_30_days_cannot_be_deactivated(manager, session, support, clock):
    builder = make_entity(manager, session, support, "builder", name="Fresh Homes")
    clock.advance(days=29, hours=23)
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, builder.id, "inactive")
    sentence = ("Builder 'Fresh Homes' is 29 days old; it must be at least 30 days old "
                "to deactivate.")
    assert refused.value.to_dict() == {
        "error": "rule_violation", "message": sentence, "messages": [sentence]}
    assert refused.value.status == 422
    assert manager.get(session, builder.id).status == "active"


def test_a_builder_30_days_old_can_be_deactivated(manager, session, support, clock):
    builder = make_entity(manager, session, support, "builder")
    clock.advance(days=30)
    outcome = manager.transition(session, support, builder.id, "inactive")
    assert outcome.entity.status == "inactive"


# ----------------------------------------------------------- no_related_in_states


def test_a_builder_with_a_property_under_contract_cannot_go_out_of_business(
        manager, session, support):
    estate = make_realestate(manager, session, support, properties=3)
    _move(manager, session, support, estate.properties[0], "under_contract")
    before = count_rows(session)
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, estate.builder.id, "out_of_business")
    name = estate.builder.name
    assert refused.value.code == "rule_violation"
    assert refused.value.messages == [(
        f"Builder {name!r} has 1 property under_contract; it cannot go out_of_business "
        f"until it is resolved.")]
    assert count_rows(session) == before


def test_once_the_sale_closes_the_builder_can_go_out_of_business(manager, session, support):
    estate = make_realestate(manager, session, support, properties=3)
    _move(manager, session, support, estate.properties[0], "under_contract", "sold")
    outcome = manager.transition(session, support, estate.builder.id, "OUT_OF_BUSINESS")
    assert outcome.entity.status == "out_of_business"


def test_the_refusal_counts_every_property_under_contract_across_communities(
        manager, session, support):
    estate = make_realestate(manager, session, support, properties=2)
    second = make_entity(manager, session, support, "community", parent_id=estate.builder.id)
    other = make_entity(manager, session, support, "property", parent_id=second.id)
    for p in (estate.properties[0], other):
        _move(manager, session, support, p, "under_contract")
    with pytest.raises(RuleViolation, match=r"has 2 properties under_contract; it cannot go "
                                            r"out_of_business until they are resolved\."):
        manager.transition(session, support, estate.builder.id, "out_of_business")


# --------------------------------------------------------------- required_fields


def test_a_work_order_needs_a_vendor_before_it_can_be_approved(manager, session, support):
    order = make_entity(manager, session, support, "work_order", name="Fix roof")
    _move(manager, session, support, order, "SUBMITTED")
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, order.id, "APPROVED")
    assert refused.value.messages == ["Vendor is required before it can approve."]
    manager.update_entity(session, support, order.id, version=manager.get(session, order.id).version,
                          data={"vendor": "Roofers Ltd"})
    assert manager.transition(session, support, order.id, "APPROVED").entity.status == "APPROVED"


@pytest.mark.parametrize("line_items", [None, [], ""])
def test_a_work_order_needs_line_items_before_it_can_be_completed(
        manager, session, support, line_items):
    order = make_entity(manager, session, support, "work_order",
                        data={"vendor": "Acme", "line_items": line_items})
    _move(manager, session, support, order, "SUBMITTED", "APPROVED", "IN_PROGRESS")
    with pytest.raises(RuleViolation, match="Line items is required before it can complete"):
        manager.transition(session, support, order.id, "COMPLETED")


def test_a_work_order_with_line_items_completes_and_closes(manager, session, support):
    order = make_entity(manager, session, support, "work_order",
                        data={"vendor": "Acme", "line_items": [
                            {"description": "Roof tile", "quantity": 40, "unit_price": "2.10"}]})
    order = _move(manager, session, support, order,
                  "SUBMITTED", "APPROVED", "IN_PROGRESS", "COMPLETED", "CLOSED")
    assert order.status == "CLOSED"


def test_a_task_needs_an_assignee_before_it_can_start(manager, session, support):
    task = make_entity(manager, session, support, "task", name="Check boiler")
    with pytest.raises(RuleViolation, match=r"Assigned to is required before it can start\."):
        manager.transition(session, support, task.id, "INPROGRESS")
    make_user(session, username="kim")  # a task's assignee is a user of the app
    staffed = make_entity(manager, session, support, "task", data={"assignee": "kim"})
    assert manager.transition(session, support, staffed.id, "INPROGRESS").entity.status == "INPROGRESS"


# -------------------------------------------------------------- comment_required


def _work_order_in(manager, session, actor, state):
    order = make_entity(manager, session, actor, "work_order", data={"vendor": "Acme"})
    path = {"DRAFT": [], "SUBMITTED": ["SUBMITTED"], "APPROVED": ["SUBMITTED", "APPROVED"]}[state]
    return _move(manager, session, actor, order, *path)


def _ticket_in(manager, session, actor, state):
    ticket = make_entity(manager, session, actor, "ticket", data={"priority": "LOW"})
    path = {"NEW": [], "INPROGRESS": ["OPEN", "INPROGRESS"]}.get(state)
    if state == "RESOLVED":
        _move(manager, session, actor, ticket, "OPEN", "INPROGRESS")
        return _move(manager, session, actor, ticket, "RESOLVED", reason="fixed")
    return _move(manager, session, actor, ticket, *path)


def _task_in(manager, session, actor, state):
    make_user(session, username="kim")
    task = make_entity(manager, session, actor, "task", data={"assignee": "kim"})
    return _move(manager, session, actor, task, "INPROGRESS")


COMMENTED = [
    (_work_order_in, "SUBMITTED", "REJECTED", "reject"),
    (_work_order_in, "DRAFT", "CANCELLED", "cancel"),
    (_work_order_in, "APPROVED", "CANCELLED", "cancel"),
    (_task_in, "INPROGRESS", "STANDBY", "standby"),
    (_ticket_in, "INPROGRESS", "RESOLVED", "resolve"),
    (_ticket_in, "RESOLVED", "CLOSED", "close"),
    (_ticket_in, "NEW", "CANCELLED", "cancel"),
]


@pytest.mark.parametrize("make, start, target, action", COMMENTED)
@pytest.mark.parametrize("comment", [None, "", "   "])
def test_a_move_that_needs_a_comment_is_refused_without_one(
        manager, session, support, make, start, target, action, comment):
    entity = make(manager, session, support, start)
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, entity.id, target, reason=comment)
    assert refused.value.messages == [f"A comment is required to {action}."]
    assert manager.get(session, entity.id).status == start


@pytest.mark.parametrize("make, start, target, action", COMMENTED)
def test_a_move_that_needs_a_comment_keeps_the_comment_as_its_reason(
        manager, session, support, make, start, target, action):
    entity = make(manager, session, support, start)
    manager.transition(session, support, entity.id, target, reason="customer asked")
    latest = history.page(session, entity.id, limit=1)[0][0]
    assert (latest.new_status, latest.action, latest.reason) == (target, action, "customer asked")


def test_attendance_rejection_needs_a_comment(manager, session, support):
    sheet = make_entity(manager, session, support, "attendance", data=CHECKED_IN)
    with pytest.raises(RuleViolation, match="A comment is required to reject."):
        manager.transition(session, support, sheet.id, "REJECTED")


# -------------------------------------------------------------------- cutoff_day

#: Checked in at the site itself: the geofence on approve lets it through.
CHECKED_IN = {"site_location": {"lat": 37.79493, "lon": -122.39432},
              "check_in_location": {"lat": 37.79493, "lon": -122.39432}}


def test_attendance_cannot_be_approved_after_the_payroll_cutoff_day(manager, session, support, clock):
    sheet = make_entity(manager, session, support, "attendance", data=CHECKED_IN)
    clock.now = datetime(2025, 3, 26, 8, 0, tzinfo=UTC)  # default cutoff: day 25
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, sheet.id, "APPROVED")
    assert refused.value.messages == [(
        "It is past day 25 of the month (setting payroll_cutoff_day); approve is closed "
        "until next month.")]


def test_attendance_can_be_approved_on_the_cutoff_day_itself(manager, session, support, clock):
    sheet = make_entity(manager, session, support, "attendance", data=CHECKED_IN)
    clock.now = datetime(2025, 3, 25, 23, 59, tzinfo=UTC)
    assert manager.transition(session, support, sheet.id, "APPROVED").entity.status == "APPROVED"


def test_a_later_payroll_cutoff_day_reopens_approval(manager, session, support, admin, clock):
    sheet = make_entity(manager, session, support, "attendance", data=CHECKED_IN)
    clock.now = datetime(2025, 3, 27, 8, 0, tzinfo=UTC)
    with write_transaction(session):
        manager.settings.apply(session, manager.settings.validate(session, {"payroll_cutoff_day": 28}),
                               admin.name, clock())
    assert manager.transition(session, support, sheet.id, "APPROVED").entity.status == "APPROVED"


# ------------------------------------------------------------------ field enums


def test_a_ticket_priority_outside_the_list_is_refused_naming_the_field(manager, session, support):
    before = count_rows(session)
    with pytest.raises(InvalidInput) as refused:
        make_entity(manager, session, support, "ticket", data={"priority": "URGENT"})
    assert refused.value.status == 400
    assert refused.value.fields == {
        "data.priority": "Priority must be one of LOW, MEDIUM, HIGH, CRITICAL."}
    assert count_rows(session) == before


def test_a_ticket_priority_cannot_be_patched_outside_the_list(manager, session, support):
    ticket = make_entity(manager, session, support, "ticket", data={"priority": "HIGH"})
    with pytest.raises(InvalidInput) as refused:
        manager.update_entity(session, support, ticket.id, version=ticket.version,
                              data={"priority": "urgent"})
    assert "data.priority" in refused.value.fields


@pytest.mark.parametrize("priority", ["LOW", "MEDIUM", "HIGH", "CRITICAL"])
def test_every_listed_ticket_priority_is_accepted(manager, session, support, priority):
    ticket = make_entity(manager, session, support, "ticket", data={"priority": priority})
    assert ticket.data == {"priority": priority}


# ---------------------------------------------------------- the workflow itself


def test_a_move_the_workflow_does_not_have_says_where_the_entity_can_go(manager, session, support):
    order = make_entity(manager, session, support, "work_order", name="Paint hall")
    with pytest.raises(InvalidTransition) as refused:
        manager.transition(session, support, order.id, "COMPLETED")
    assert type(refused.value) is InvalidTransition
    assert refused.value.message == ("Work order 'Paint hall' cannot go from DRAFT to COMPLETED; "
                                     "from DRAFT it can go to: SUBMITTED, CANCELLED.")


def test_a_terminal_entity_cannot_move_at_all(manager, session, support):
    order = _work_order_in(manager, session, support, "DRAFT")
    manager.transition(session, support, order.id, "CANCELLED", reason="duplicate")
    with pytest.raises(InvalidTransition, match="a final state"):
        manager.transition(session, support, order.id, "DRAFT")


def test_an_unknown_target_state_is_bad_input_listing_the_states(manager, session, support):
    order = make_entity(manager, session, support, "work_order")
    with pytest.raises(InvalidInput) as refused:
        manager.transition(session, support, order.id, "FINISHED")
    assert refused.value.fields["to"].startswith("Choose one of: DRAFT, SUBMITTED")


# ------------------------------------------------------------ field_condition (custom workflow)

INSPECTIONS = {"pack": "custom", "types": {"inspection": {
    "initial": "open",
    "states": {"open": {}, "PASSED": {"terminal": True, "category": "closed"}},
    "transitions": [{"name": "pass", "from": "open", "to": "PASSED", "rules": [
        {"kind": "field_condition", "params": {"field": "score", "op": "gte", "value": 70}}]}]}}}


@pytest.mark.parametrize("data, refusal", [
    ({}, "Score is not filled in; it must be at least 70 to pass."),
    ({"score": 69}, "Score is 69; it must be at least 70 to pass."),
    ({"score": "high"}, "Score is high; it must be at least 70 to pass."),
    ({"score": 70}, None),
])
def test_a_data_field_condition_guards_a_move(manager, session, admin, clock, data, refusal):
    with write_transaction(session):
        packs.import_document(session, manager.workflows, INSPECTIONS, admin, clock())
    inspection = make_entity(manager, session, admin, "inspection", data=data)
    if refusal is None:
        assert manager.transition(session, admin, inspection.id, "PASSED").entity.status == "PASSED"
        return
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, admin, inspection.id, "PASSED")
    assert refused.value.messages == [refusal]

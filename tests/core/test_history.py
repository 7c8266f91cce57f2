"""History and time travel: reverting a change or to a time, and the state at any past moment."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import count_rows, make_entity
from webapp.core.base.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from webapp.core.changes import history
from webapp.models import StatusChange


def _latest(session, entity):
    session.rollback()
    return history.page(session, entity.id, limit=1)[0][0]


def _version(manager, session, entity):
    session.rollback()
    return manager.get(session, entity.id).version


def _patch(manager, session, actor, entity, data=None, name=None):
    return manager.update_entity(session, actor, entity.id, data=data, name=name,
                                 version=_version(manager, session, entity))


# ----------------------------------------------------------------------------- revert


def test_reverting_a_change_restores_the_previous_status_as_a_new_change(
        manager, session, support, clock):
    prop = make_entity(manager, session, support, "property")
    clock.advance(hours=1)
    manager.transition(session, support, prop.id, "pending")
    change = _latest(session, prop)
    clock.advance(hours=1)
    outcome = manager.revert(session, support, prop.id, change_id=change.id, reason="wrong lot")
    assert outcome.entity.status == "available"
    row = _latest(session, prop)
    assert history.to_dict(row) | {"id": 0, "created_at": "", "correlation_id": ""} == {
        "id": 0, "entity_id": prop.id, "old_status": "pending", "new_status": "available",
        "action": "revert", "reason": "wrong lot", "actor": "sam", "source": "revert",
        "correlation_id": "", "metadata": {"reverted_change": change.id}, "created_at": ""}
    assert row.correlation_id == outcome.correlation_id
    assert [r.new_status for r in history.page(session, prop.id)[0]] == [
        "available", "pending", "available"]


def test_reverting_a_change_whose_status_changed_again_since_is_refused(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    manager.transition(session, support, prop.id, "pending")
    first = _latest(session, prop)
    manager.transition(session, support, prop.id, "reserved")
    before = count_rows(session)
    with pytest.raises(InvalidTransition) as refused:
        manager.revert(session, support, prop.id, change_id=first.id, reason="oops")
    assert refused.value.status == 422
    assert refused.value.message == (
        f"The status changed again after change {first.id} (now reserved); revert the later "
        f"change first, or revert to a time.")
    assert count_rows(session) == before


def test_reverting_into_a_state_the_workflow_cannot_leave_back_is_refused(
        manager, session, support):
    prop = make_entity(manager, session, support, "property", name="Lot 9")
    manager.transition(session, support, prop.id, "under_contract")
    manager.transition(session, support, prop.id, "sold")
    sale = _latest(session, prop)
    before = count_rows(session)
    with pytest.raises(InvalidTransition) as refused:
        manager.revert(session, support, prop.id, change_id=sale.id, reason="buyer backed out")
    assert refused.value.code == "invalid_transition"
    assert refused.value.message == "Property 'Lot 9' is sold, a final state; it cannot change any more."
    assert count_rows(session) == before


def test_an_admin_may_force_a_revert_the_workflow_forbids(manager, session, admin, support):
    prop = make_entity(manager, session, support, "property")
    manager.transition(session, support, prop.id, "under_contract")
    manager.transition(session, support, prop.id, "sold")
    sale = _latest(session, prop)
    outcome = manager.revert(session, admin, prop.id, change_id=sale.id, force=True,
                             reason="sale recorded on the wrong lot")
    assert outcome.entity.status == "under_contract"
    row = _latest(session, prop)
    assert (row.source, row.actor, row.reason) == ("revert", "ada", "sale recorded on the wrong lot")


def test_support_may_not_force_a_revert(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    manager.transition(session, support, prop.id, "under_contract")
    manager.transition(session, support, prop.id, "sold")
    sale = _latest(session, prop)
    before = count_rows(session)
    with pytest.raises(PermissionDenied) as refused:
        manager.revert(session, support, prop.id, change_id=sale.id, force=True, reason="please")
    assert refused.value.status == 403
    assert count_rows(session) == before


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_a_revert_needs_a_reason_even_when_forced(manager, session, admin, reason):
    prop = make_entity(manager, session, admin, "property")
    manager.transition(session, admin, prop.id, "pending")
    with pytest.raises(InvalidInput) as refused:
        manager.revert(session, admin, prop.id, change_id=_latest(session, prop).id,
                       reason=reason, force=True)
    assert "reason" in refused.value.fields


def test_the_creation_of_an_entity_cannot_be_reverted(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    with pytest.raises(InvalidTransition, match="creation of an entity cannot be reverted"):
        manager.revert(session, support, prop.id, change_id=_latest(session, prop).id, reason="x")


def test_a_change_of_another_entity_cannot_be_reverted_here(manager, session, support):
    one, other = (make_entity(manager, session, support, "property") for _ in range(2))
    manager.transition(session, support, other.id, "pending")
    with pytest.raises(NotFound):
        manager.revert(session, support, one.id, change_id=_latest(session, other).id, reason="x")
    with pytest.raises(NotFound):
        manager.revert(session, support, one.id, change_id=10**9, reason="x")


@pytest.mark.parametrize("how", [{}, {"change_id": 1, "at": "both"}, {"change_id": "7"},
                                 {"at": "yesterday"}])
def test_a_revert_names_exactly_one_change_or_time(manager, session, support, how):
    prop = make_entity(manager, session, support, "property")
    if how.get("at") == "both":
        how = {"change_id": _latest(session, prop).id, "at": prop.created_at}
    with pytest.raises(InvalidInput):
        manager.revert(session, support, prop.id, reason="x", **how)


def test_reverting_a_data_change_restores_only_the_keys_nobody_changed_since(
        manager, session, support):
    order = make_entity(manager, session, support, "work_order",
                        data={"vendor": "Acme", "site": "Block B", "description": "first"})
    _patch(manager, session, support, order, data={"vendor": "Bolt", "site": "Block C",
                                                   "due_on": "2025-03-12", "description": None})
    edit = _latest(session, order)
    _patch(manager, session, support, order, data={"site": "Block D"})
    outcome = manager.revert(session, support, order.id, change_id=edit.id, reason="wrong order")
    assert outcome.entity.data == {"vendor": "Acme", "site": "Block D", "description": "first"}
    assert outcome.entity.status == "DRAFT"


def test_reverting_a_data_change_leaves_the_status_it_has_moved_on_to(manager, session, support):
    order = make_entity(manager, session, support, "work_order", data={"vendor": "Acme"})
    _patch(manager, session, support, order, data={"vendor": "Bolt"})
    edit = _latest(session, order)
    manager.transition(session, support, order.id, "SUBMITTED")
    outcome = manager.revert(session, support, order.id, change_id=edit.id, reason="wrong vendor")
    assert (outcome.entity.status, outcome.entity.data) == ("SUBMITTED", {"vendor": "Acme"})


def test_reverting_a_data_change_overwritten_since_is_refused_as_nothing_to_do(
        manager, session, support):
    order = make_entity(manager, session, support, "work_order", data={"vendor": "Acme"})
    _patch(manager, session, support, order, data={"vendor": "Bolt"})
    edit = _latest(session, order)
    _patch(manager, session, support, order, data={"vendor": "Cobalt"})
    before = count_rows(session)
    with pytest.raises(InvalidInput, match="Nothing of change"):
        manager.revert(session, support, order.id, change_id=edit.id, reason="x")
    assert count_rows(session) == before


def test_reverting_a_rename_puts_the_old_name_back(manager, session, support):
    builder = make_entity(manager, session, support, "builder", name="Acme Homes")
    _patch(manager, session, support, builder, name="Acme Homes Ltd")
    outcome = manager.revert(session, support, builder.id, change_id=_latest(session, builder).id,
                             reason="typo")
    assert outcome.entity.name == "Acme Homes"


def test_reverting_to_a_time_restores_status_and_data_of_that_moment(
        manager, session, support, clock):
    prop = make_entity(manager, session, support, "property", data={"price": 100})
    clock.advance(days=1)
    manager.transition(session, support, prop.id, "pending")
    _patch(manager, session, support, prop, data={"price": 120, "listed_on": "2025-03-04"})
    then = clock() + timedelta(hours=1)
    clock.advance(days=1)
    manager.transition(session, support, prop.id, "available")
    _patch(manager, session, support, prop, data={"price": 90, "listed_on": None})
    clock.advance(days=1)
    outcome = manager.revert(session, support, prop.id, at=then, reason="restore the hold")
    assert (outcome.entity.status, outcome.entity.data) == (
        "pending", {"price": "120", "listed_on": "2025-03-04"})
    row = _latest(session, prop)
    assert (row.source, row.old_status, row.new_status) == ("revert", "available", "pending")
    assert row.meta["reverted_to"] == then.isoformat()


def test_reverting_to_a_time_the_workflow_cannot_go_back_to_is_refused(
        manager, session, support, clock):
    prop = make_entity(manager, session, support, "property")
    clock.advance(days=1)
    manager.transition(session, support, prop.id, "reserved")
    then = clock()
    clock.advance(days=1)
    manager.transition(session, support, prop.id, "under_contract")
    with pytest.raises(InvalidTransition, match="cannot go from under_contract to reserved"):
        manager.revert(session, support, prop.id, at=then, reason="x")


def test_reverting_to_a_time_when_it_looked_the_same_is_refused(manager, session, support, clock):
    prop = make_entity(manager, session, support, "property")
    clock.advance(days=1)
    with pytest.raises(InvalidInput, match="already looks as it did"):
        manager.revert(session, support, prop.id, at=clock() - timedelta(hours=1), reason="x")


def test_a_revert_is_checked_against_the_rules_of_the_move_back(manager, session, support, clock):
    builder = make_entity(manager, session, support, "builder", name="New Homes", status="inactive")
    clock.advance(days=3)
    manager.transition(session, support, builder.id, "active")
    with pytest.raises(RuleViolation, match="is 3 days old; it must be at least 30 days old"):
        manager.revert(session, support, builder.id, change_id=_latest(session, builder).id,
                       reason="reactivated by mistake")


# --------------------------------------------------------------------------- state at


def test_state_at_answers_the_status_and_data_of_any_moment_of_a_long_history(
        manager, session, support, clock):
    rnd = random.Random(7)
    prop = make_entity(manager, session, support, "property", data={"price": 100})
    timeline = [(clock(), "available", {"price": "100"})]
    moves = {"available": ["pending", "reserved", "under_contract", "off_market"],
             "pending": ["available", "reserved", "under_contract", "off_market"],
             "reserved": ["available", "under_contract", "off_market"],
             "under_contract": ["available"], "off_market": ["available"]}
    status, data = "available", {"price": "100"}
    for step in range(200):
        clock.advance(minutes=rnd.randint(1, 600), seconds=rnd.randint(0, 59))
        if step % 3 == 2:
            patch = {"price": 100 + step, "address": rnd.choice(["1 Elm St", "2 Oak Ave", None]),
                     "bedrooms": rnd.randint(1, 3)}
            entity = _patch(manager, session, support, prop, data=patch)
            data = entity.data
        else:
            status = rnd.choice(moves[status])
            manager.transition(session, support, prop.id, status)
        timeline.append((clock(), status, dict(data)))
    assert len(history.page(session, prop.id, limit=500)[0]) == 201
    for i, (when, status, data) in enumerate(timeline):
        probes = [when]
        if i + 1 < len(timeline):
            probes.append(when + (timeline[i + 1][0] - when) / 2)
        for at in probes:
            past = history.state_at(session, prop.id, at)
            assert (past["status"], past["data"]) == (status, data), (i, at)
            assert past["as_of"] == at.isoformat()
    far = history.state_at(session, prop.id, clock() + timedelta(days=365))
    assert (far["status"], far["data"]) == (timeline[-1][1], timeline[-1][2])


def test_state_at_a_time_before_the_entity_existed_is_bad_input(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    with pytest.raises(InvalidInput) as refused:
        history.state_at(session, prop.id, prop.created_at - timedelta(microseconds=1))
    assert refused.value.fields == {"at": f"It was created at {prop.created_at.isoformat()}."}


def test_state_at_takes_a_time_without_a_zone_as_utc(manager, session, support, clock):
    prop = make_entity(manager, session, support, "property")
    clock.advance(hours=2)
    manager.transition(session, support, prop.id, "pending")
    naive = (clock() - timedelta(hours=1)).replace(tzinfo=None)
    assert history.state_at(session, prop.id, naive)["status"] == "available"


def test_state_at_gives_the_name_the_entity_had_then(manager, session, support, clock):
    builder = make_entity(manager, session, support, "builder", name="Acme")
    created = clock()
    clock.advance(days=1)
    _patch(manager, session, support, builder, name="Acme Homes")
    assert history.state_at(session, builder.id, created)["name"] == "Acme"
    assert history.state_at(session, builder.id, clock())["name"] == "Acme Homes"


def test_history_pages_newest_first_with_a_cursor(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    for state in ["pending", "available", "reserved", "available", "off_market"]:
        manager.transition(session, support, prop.id, state)
    first, cursor = history.page(session, prop.id, limit=4)
    rest, end = history.page(session, prop.id, limit=4, before_id=cursor)
    assert [r.new_status for r in first + rest] == [
        "off_market", "available", "reserved", "available", "pending", "available"]
    assert end is None
    ids = [r.id for r in first + rest]
    assert ids == sorted(ids, reverse=True)
    all_rows = session.scalars(select(StatusChange.id).where(StatusChange.entity_id == prop.id))
    assert sorted(all_rows) == sorted(ids)

"""The moves on offer and who may take them; callbacks after commit; registered validators."""
from __future__ import annotations

import pytest

from tests.factories import count_rows, make_entity, make_realestate
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidTransition, PermissionDenied, RuleViolation
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import packs

GADGETS = {"pack": "custom", "types": {"gadget": {
    "label": "Gadget", "initial": "draft",
    "states": {"draft": {}, "live": {}, "RETIRED": {"terminal": True, "category": "closed"}},
    "transitions": [
        {"name": "publish", "from": "draft", "to": "live", "roles": ["admin"]},
        {"name": "unpublish", "from": "live", "to": "draft"},
        {"name": "retire", "from": "*", "to": "RETIRED", "roles": ["admin", "support"],
         "comment_required": True},
    ]}}}


@pytest.fixture
def gadget(manager, session, admin, clock):
    with write_transaction(session):
        packs.import_document(session, manager.workflows, GADGETS, admin, clock())
    return make_entity(manager, session, admin, "gadget", name="Widget")


# ---------------------------------------------------------------------- allowed moves


def test_allowed_transitions_lists_every_move_with_the_reasons_blocked_ones_are_blocked(
        manager, session, support):
    estate = make_realestate(manager, session, support, properties=1, reps=0)
    manager.transition(session, support, estate.properties[0].id, "under_contract")
    name = estate.builder.name
    too_young = (f"Builder {name!r} is 0 days old; it must be at least 30 days old to "
                 f"deactivate.")
    under_contract = (f"Builder {name!r} has 1 property under_contract; it cannot go "
                      f"out_of_business until it is resolved.")
    assert manager.allowed_transitions(session, support, estate.builder.id) == [
        {"action": "deactivate", "to": "inactive", "allowed": False, "comment_required": False,
         "reasons": [too_young]},
        {"action": "suspend", "to": "suspended", "allowed": True, "reasons": [],
         "comment_required": False},
        {"action": "close", "to": "out_of_business", "allowed": False, "comment_required": False,
         "reasons": [under_contract]},
        {"action": "merge", "to": "merged", "allowed": True, "reasons": [],
         "comment_required": False},
    ]


def test_a_move_that_needs_a_comment_is_offered_and_flagged(manager, session, support):
    ticket = make_entity(manager, session, support, "ticket", data={"priority": "LOW"})
    offered = {m["action"]: m for m in manager.allowed_transitions(session, support, ticket.id)}
    assert offered["cancel"] == {"action": "cancel", "to": "CANCELLED", "allowed": True,
                                 "reasons": [], "comment_required": True}
    assert offered["open"]["comment_required"] is False


def test_a_terminal_entity_offers_no_moves(manager, session, support, gadget):
    manager.transition(session, support, gadget.id, "RETIRED", reason="obsolete")
    assert manager.allowed_transitions(session, support, gadget.id) == []


def test_allowed_transitions_writes_nothing(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    before = count_rows(session)
    manager.allowed_transitions(session, support, prop.id)
    assert count_rows(session) == before


# ------------------------------------------------------------------------------ roles


def test_a_move_restricted_to_admins_is_refused_for_support(manager, session, support, gadget):
    before = count_rows(session)
    with pytest.raises(PermissionDenied) as refused:
        manager.transition(session, support, gadget.id, "live")
    assert refused.value.status == 403
    assert refused.value.message == "Only admin may publish a gadget; you are support."
    assert count_rows(session) == before


def test_a_move_restricted_to_admins_is_taken_by_an_admin(manager, session, admin, gadget):
    assert manager.transition(session, admin, gadget.id, "live").entity.status == "live"


def test_the_restricted_move_is_shown_blocked_to_other_roles(
        manager, session, admin, support, gadget):
    as_support = {m["action"]: m for m in manager.allowed_transitions(session, support, gadget.id)}
    as_admin = {m["action"]: m for m in manager.allowed_transitions(session, admin, gadget.id)}
    assert as_support["publish"]["allowed"] is False
    assert as_support["publish"]["reasons"] == ["Only admin may publish a gadget; you are support."]
    assert as_admin["publish"]["allowed"] is True


@pytest.mark.parametrize("role", ["config_editor", "auditor"])
def test_a_move_naming_roles_refuses_every_other_role(manager, session, gadget, role):
    with pytest.raises(PermissionDenied):
        manager.transition(session, Actor("x", role), gadget.id, "RETIRED", reason="old")


def test_a_wildcard_move_with_a_comment_rule_applies_from_every_live_state(
        manager, session, admin, gadget):
    manager.transition(session, admin, gadget.id, "live")
    with pytest.raises(RuleViolation, match="A comment is required to retire."):
        manager.transition(session, admin, gadget.id, "RETIRED")
    assert manager.transition(session, admin, gadget.id, "RETIRED", reason="eol").entity.status \
        == "RETIRED"
    with pytest.raises(InvalidTransition, match="final state"):
        manager.transition(session, admin, gadget.id, "draft")


# ------------------------------------------------------------------ callbacks


def test_a_callback_hears_of_a_change_after_it_is_committed(
        manager, session, session_factory, support):
    prop = make_entity(manager, session, support, "property")
    heard = []

    def callback(event):
        with session_factory() as other:  # another connection sees the committed change
            heard.append((event, manager.get(other, event["entity_id"]).status))

    manager.on_commit("property", callback)
    outcome = manager.transition(session, support, prop.id, "pending", reason="viewing")
    assert len(heard) == 1
    event, committed_status = heard[0]
    assert committed_status == "pending"
    assert event | {"change_id": 0} == {
        "event": "StatusChanged", "change_id": 0, "entity_id": prop.id, "type": "property",
        "name": prop.name, "old_status": "available", "new_status": "pending", "action": "hold",
        "source": "api", "actor": "sam", "correlation_id": outcome.correlation_id,
        "parent_id": None}


def test_a_callback_is_not_called_when_the_command_fails(manager, session, support):
    prop = make_entity(manager, session, support, "property")
    heard = []
    manager.on_commit("*", heard.append)
    with pytest.raises(InvalidTransition):
        manager.transition(session, support, prop.id, "sold")
    assert heard == []


def test_callbacks_hear_only_their_own_type_or_everything_with_a_star(manager, session, support):
    by_type, everything = [], []
    manager.on_commit("builder", by_type.append)
    manager.on_commit("*", everything.append)
    builder = make_entity(manager, session, support, "builder")
    prop = make_entity(manager, session, support, "property")
    manager.transition(session, support, prop.id, "pending")
    assert [(e["event"], e["entity_id"]) for e in by_type] == [("EntityCreated", builder.id)]
    assert [(e["event"], e["entity_id"]) for e in everything] == [
        ("EntityCreated", builder.id), ("EntityCreated", prop.id), ("StatusChanged", prop.id)]


def test_a_failing_callback_does_not_undo_the_change_or_silence_the_others(
        manager, session, support, caplog):
    prop = make_entity(manager, session, support, "property")
    heard = []

    def broken(event):
        raise ValueError("subscriber bug")

    manager.on_commit("property", broken)
    manager.on_commit("property", heard.append)
    manager.transition(session, support, prop.id, "pending")
    session.rollback()
    assert manager.get(session, prop.id).status == "pending"
    assert len(heard) == 1
    assert "subscriber" in caplog.text


# ------------------------------------------------------------------ validators


def test_a_registered_validator_can_veto_a_move_with_its_sentence(manager, session, support):
    def millions_need_head_office(entity, target, ctx):
        if target == "under_contract" and float(entity.data.get("price", 0)) >= 1_000_000:
            return f"{entity.name} costs a million or more; such contracts need head office."
        return None

    manager.register_validator("property", millions_need_head_office)
    grand = make_entity(manager, session, support, "property", name="Lot N", data={"price": 2500000})
    plain = make_entity(manager, session, support, "property", name="Lot S", data={"price": 410000})
    before = count_rows(session)
    with pytest.raises(RuleViolation) as refused:
        manager.transition(session, support, grand.id, "under_contract")
    assert refused.value.messages == [
        "Lot N costs a million or more; such contracts need head office."]
    assert count_rows(session) == before
    assert manager.transition(session, support, plain.id, "under_contract").entity.status == \
        "under_contract"


def test_a_validator_sees_the_action_and_its_veto_shows_in_allowed_transitions(
        manager, session, support):
    seen = []

    def record(entity, target, ctx):
        seen.append((target, ctx.action))
        return "Frozen for the audit." if target == "reserved" else None

    manager.register_validator("property", record)
    prop = make_entity(manager, session, support, "property")
    offered = {m["to"]: m for m in manager.allowed_transitions(session, support, prop.id)}
    assert offered["reserved"]["reasons"] == ["Frozen for the audit."]
    assert offered["pending"]["allowed"] is True
    assert ("reserved", "reserve") in seen


def test_a_validator_for_another_type_is_not_consulted(manager, session, support):
    manager.register_validator("builder", lambda e, t, c: "never")
    prop = make_entity(manager, session, support, "property")
    assert manager.transition(session, support, prop.id, "pending").entity.status == "pending"

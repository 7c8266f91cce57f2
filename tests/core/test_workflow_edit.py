"""Editing workflows as documents: pure edits, checks, the dry check, the audited save, import."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.factories import make_entity
from webapp.core.base.errors import ConcurrencyConflict, NotFound
from webapp.core.workflows import editing as edit
from webapp.core.workflows.definition import Cascade, RuleSpec, to_document
from webapp.models import AuditEntry, WorkflowDefinition

MIN_AGE_30 = RuleSpec("min_age", {"days": 30})


def doc_of(manager, session, entity_type):
    return to_document(manager.workflow(session, entity_type))


def stored(session, entity_type) -> WorkflowDefinition:
    session.rollback()
    return session.scalar(select(WorkflowDefinition)
                          .where(WorkflowDefinition.entity_type == entity_type))


# ------------------------------------------------------------------------ document edits

def test_adding_a_rule_returns_a_new_document_and_leaves_the_old_one_alone(manager, session):
    before = doc_of(manager, session, "property")

    after = edit.add_rule(before, "hold", MIN_AGE_30)

    hold = next(t for t in after["transitions"] if t["name"] == "hold")
    assert hold["rules"] == [{"kind": "min_age", "params": {"days": 30}}]
    assert "rules" not in next(t for t in before["transitions"] if t["name"] == "hold")


def test_a_rule_or_cascade_that_is_not_there_cannot_be_edited(manager, session):
    doc = doc_of(manager, session, "property")

    with pytest.raises(NotFound, match="no rule number 1"):
        edit.remove_rule(doc, "hold", 0)
    with pytest.raises(NotFound, match="no transition 'fly'"):
        edit.add_rule(doc, "fly", MIN_AGE_30)
    with pytest.raises(NotFound, match="no cascade number 1"):
        edit.remove_cascade(doc, 0)


def test_transition_options_are_stored_only_when_they_narrow_something(manager, session):
    doc = edit.set_transition_options(doc_of(manager, session, "ticket"), "close", [], False)

    close = next(t for t in doc["transitions"] if t["name"] == "close")
    assert "roles" not in close and "comment_required" not in close


# -------------------------------------------------------------------------------- checks

def test_a_builders_relatives_are_its_children_and_their_children(manager, session):
    workflows = manager.workflows.all(session)

    assert edit.relative_paths(workflows, "builder") == [
        ("community",), ("sales_rep",), ("community", "property")]
    assert edit.relative_paths(workflows, "work_order") == []


@pytest.mark.parametrize(("params", "complaint"), [
    ({"path": ["property"], "states": ["sold"]}, {"path": "a property is not a child of a builder"}),
    ({"path": ["community", "house"], "states": ["sold"]}, {"path": "'house' is not a known entity type"}),
    ({"path": ["sales_rep"], "states": ["retired"]}, {"states": "sales rep has no state retired"}),
    ({"path": ["sales_rep"], "states": []}, {"states": "needs a non-empty list"}),
])
def test_a_rule_about_relatives_must_name_real_relatives_and_states(manager, session, params,
                                                                     complaint):
    spec = RuleSpec("no_related_in_states", params)

    assert edit.rule_problems(spec, "builder", manager.workflows.all(session)) == complaint


def test_a_cascade_must_name_states_its_relatives_have(manager, session):
    wf = manager.workflow(session, "builder")
    cascade = Cascade("suspended", ("sales_rep",), ("active", "asleep"), "gone")

    assert edit.cascade_problems(cascade, wf, manager.workflows.all(session)) == {
        "from_states": "Sales rep has no state asleep", "to": "Sales rep has no state 'gone'"}


def test_problems_cover_the_static_checks_of_the_whole_document(manager, session):
    doc = doc_of(manager, session, "ticket")
    doc["states"]["ARCHIVED"] = {"category": "closed"}

    assert edit.problems(doc, "ticket", manager.workflows.all(session)) == [
        "State 'ARCHIVED' cannot be reached from 'NEW'.",
        "State 'ARCHIVED' is a dead end but not marked terminal."]


# ----------------------------------------------------------------------------- dry check

def test_the_dry_check_counts_the_entities_in_the_source_states_it_would_block(
        manager, session, admin, clock):
    old = [make_entity(manager, session, admin, "property") for _ in range(2)]
    clock.advance(days=40)
    make_entity(manager, session, admin, "property")
    make_entity(manager, session, admin, "property")
    manager.transition(session, admin, old[0].id, "pending")  # not a source of hold any more

    result = edit.dry_check(session, manager.workflow(session, "property"), "hold", MIN_AGE_30,
                            manager.settings.all(session), clock())

    assert (result.scanned, result.blocked, result.capped) == (3, 2, False)
    assert result.sources == ("available",)
    assert result.examples[0].endswith("is 0 days old; it must be at least 30 days old to hold.")


def test_the_dry_check_looks_at_no_more_than_its_cap_and_says_so(manager, session, admin, clock):
    for _ in range(3):
        make_entity(manager, session, admin, "property")

    result = edit.dry_check(session, manager.workflow(session, "property"), "withdraw",
                            MIN_AGE_30, manager.settings.all(session), clock(), cap=2)

    assert (result.scanned, result.blocked, result.capped) == (2, 2, True)
    assert result.sources == ("available", "pending", "reserved")


# ---------------------------------------------------------------------------------- save

def test_a_save_stores_the_document_and_audits_only_what_changed(manager, session, admin, clock):
    doc = edit.add_rule(doc_of(manager, session, "property"), "hold", MIN_AGE_30)

    version = edit.save(session, manager.workflows, "property", doc, admin, clock(), 1, "why")

    assert version == 2 and stored(session, "property").definition == doc
    entry = session.scalars(select(AuditEntry)
                            .where(AuditEntry.event_type == "workflow.update")).one()
    assert (entry.actor, entry.object_id, entry.message) == ("ada", "property", "why")
    assert list(entry.diff["after"]) == ["transition hold"]
    assert manager.workflow(session, "property").by_name("hold").rules == (MIN_AGE_30,)


def test_a_document_with_problems_is_refused_and_nothing_is_saved(manager, session, admin, clock):
    doc = doc_of(manager, session, "ticket")
    doc["transitions"].append({"name": "vanish", "from": ["NEW"], "to": "GONE"})

    with pytest.raises(edit.WorkflowInvalid) as refused:
        edit.save(session, manager.workflows, "ticket", doc, admin, clock(), 1, "oops")

    assert refused.value.problems == ["Transition 'vanish' names unknown state 'GONE'."]
    assert stored(session, "ticket").version == 1
    assert session.scalars(select(AuditEntry)
                           .where(AuditEntry.event_type == "workflow.update")).all() == []


def test_saving_over_a_newer_version_is_a_conflict(manager, session, admin, clock):
    doc = edit.add_rule(doc_of(manager, session, "property"), "hold", MIN_AGE_30)
    edit.save(session, manager.workflows, "property", doc, admin, clock(), 1, "first")

    with pytest.raises(ConcurrencyConflict) as conflict:
        edit.save(session, manager.workflows, "property", doc, admin, clock(), 1, "second")

    assert conflict.value.current_version == 2


# -------------------------------------------------------------------------------- import

def test_a_file_with_one_bad_type_imports_no_type_at_all(manager, session, admin, clock):
    good = doc_of(manager, session, "ticket")
    good["label"] = "Support ticket"
    bad = doc_of(manager, session, "task")
    bad["initial"] = "NOWHERE"
    raw = json.dumps({"pack": "facilities", "types": {"ticket": good, "task": bad}}).encode()

    with pytest.raises(edit.WorkflowInvalid) as refused:
        edit.import_file(session, manager.workflows, raw, admin, clock())

    assert refused.value.problems == ["task: Initial state 'NOWHERE' is not one of the states."]
    assert stored(session, "ticket").definition["label"] == "Ticket"

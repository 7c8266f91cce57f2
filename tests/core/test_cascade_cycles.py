"""No silent caps: cascades and derived statuses that loop, or never end, are refused — by the
workflow checks before they are saved, and by the StateManager (nothing written) if one slips in
anyway — while a legitimately deep cascade runs to the end."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.factories import count_rows, make_entity, make_realestate
from webapp.core.base.errors import CascadeLoop, InvalidInput
from webapp.core.base.transactions import write_transaction
from webapp.core.changes import cascades
from webapp.core.workflows import editing as edit
from webapp.core.workflows import packs
from webapp.core.workflows.definition import to_document
from webapp.models import AuditEntry, Entity, OutboxEvent, StatusChange, WorkflowDefinition

BUILDER_LOOP = ("The cascades loop: builder active → sales rep active → builder suspended → "
                "sales rep inactive → builder active; a change there could go round for ever. "
                "Remove one of these cascades or derived statuses.")

#: A folder inside a folder: closing one closes every open folder below it, level by level.
FOLDERS = {"pack": "custom", "types": {"folder": {
    "label": "Folder", "initial": "open", "parent_type": "folder",
    "states": {"open": {}, "closed": {"category": "inactive"}},
    "transitions": [{"name": "close", "from": "open", "to": "closed"},
                    {"name": "reopen", "from": "closed", "to": "open"}],
    "cascades": [{"on_enter": "closed", "path": ["folder"], "from": ["open"], "to": "closed"}]}}}


def looping_builder(manager, session) -> dict:
    """The builder's workflow with follow-ups that chase each other: suspending a builder
    makes its reps inactive; a suspended builder without active reps becomes active; an
    active builder's inactive reps become active; an active builder without inactive reps is
    suspended — and round again."""
    doc = to_document(manager.workflow(session, "builder"))
    doc["cascades"] += [
        {"on_enter": "suspended", "path": ["sales_rep"], "from": ["active"], "to": "inactive"},
        {"on_enter": "active", "path": ["sales_rep"], "from": ["inactive"], "to": "active"}]
    doc["derived"] = [
        {"child_type": "sales_rep", "count_states": ["active"], "trigger_states": ["inactive"],
         "applies_in": ["suspended"], "thresholds": [{"at_most": 0, "to": "active"}]},
        {"child_type": "sales_rep", "count_states": ["inactive"], "trigger_states": ["active"],
         "applies_in": ["active"], "thresholds": [{"at_most": 0, "to": "suspended"}]}]
    return doc


def stored(session, entity_type: str) -> dict:
    session.rollback()
    return session.scalar(select(WorkflowDefinition.definition)
                          .where(WorkflowDefinition.entity_type == entity_type))


def write_straight(session, entity_type: str, doc: dict) -> None:
    """Store a workflow as a bad migration or a hand edit of the table would: no checks."""
    with write_transaction(session):
        row = session.scalar(select(WorkflowDefinition)
                             .where(WorkflowDefinition.entity_type == entity_type))
        row.definition = doc


def everything(session) -> dict:
    """Every row a command writes, as it stands (entities with their versions)."""
    session.rollback()
    return {"entities": session.execute(select(Entity.id, Entity.status, Entity.version,
                                               Entity.status_changed_at)
                                        .order_by(Entity.id)).all(),
            **{name: session.scalars(select(model.id).order_by(model.id)).all()
               for name, model in (("history", StatusChange), ("outbox", OutboxEvent),
                                   ("audit", AuditEntry))}}


def nested_folders(manager, session, actor, depth: int) -> list[Entity]:
    with write_transaction(session):
        packs.import_document(session, manager.workflows, FOLDERS, actor, manager.clock())
    folders = [make_entity(manager, session, actor, "folder")]
    for _ in range(depth - 1):
        folders.append(make_entity(manager, session, actor, "folder", parent_id=folders[-1].id))
    return folders


def statuses(manager, session, entities) -> list[str]:
    session.rollback()
    return [manager.get(session, e.id).status for e in entities]


# ------------------------------------------------------------------------ refused up front


def test_the_checker_refuses_a_workflow_whose_cascades_loop_and_names_the_loop(manager, session):
    problems = edit.problems(looping_builder(manager, session), "builder",
                             manager.workflows.all(session))

    assert problems == [BUILDER_LOOP]


def test_the_built_in_packs_have_no_loops(manager, session):
    workflows = manager.workflows.all(session)

    assert [p for name in workflows
            for p in edit.problems(to_document(workflows[name]), name, workflows)] == []


def test_a_loop_closed_by_a_second_workflow_is_refused_when_that_one_is_saved(
        manager, session, admin, clock):
    """The builder's side alone is harmless: a suspended builder closes its active
    communities; a suspended builder whose communities sold out is active again, and then
    reopens them; an active builder with no sold-out community left is suspended. The
    community's additions (a closed community withdraws its properties, and withdrawn
    properties count towards sold out) close a loop through both workflows."""
    builder = to_document(manager.workflow(session, "builder"))
    builder["cascades"] += [
        {"on_enter": "suspended", "path": ["community"], "from": ["active"], "to": "inactive"},
        {"on_enter": "active", "path": ["community"], "from": ["sold_out"], "to": "active"}]
    builder["derived"] = [
        {"child_type": "community", "count_states": ["active"], "trigger_states": ["sold_out"],
         "applies_in": ["suspended"], "thresholds": [{"at_most": 0, "to": "active"}]},
        {"child_type": "community", "count_states": ["sold_out"], "trigger_states": ["active"],
         "applies_in": ["active"], "thresholds": [{"at_most": 0, "to": "suspended"}]}]
    edit.save(session, manager.workflows, "builder", builder, admin, clock(), 1, "harmless")
    community = to_document(manager.workflow(session, "community"))
    community["cascades"].append({"on_enter": "inactive", "path": ["property"],
                                  "from": ["available"], "to": "off_market"})
    community["derived"][0]["trigger_states"].append("off_market")
    community["derived"][0]["applies_in"].append("inactive")

    with pytest.raises(edit.WorkflowInvalid) as refused:
        edit.save(session, manager.workflows, "community", community, admin, clock(), 1,
                  "closes the loop")

    assert refused.value.problems == [(
        "The cascades loop: builder active → community active → builder suspended → "
        "community inactive → property off_market → community sold_out → builder active; "
        "a change there could go round for ever. Remove one of these cascades or derived "
        "statuses.")]
    assert len(stored(session, "community")["cascades"]) == 1


def test_a_follow_up_that_leads_back_to_the_state_it_came_from_is_no_loop(
        manager, session, support, admin, clock):
    """A sold-out community withdraws its available properties; counting withdrawn ones as a
    trigger leads back to sold out, where the community already is: nothing more moves."""
    community = to_document(manager.workflow(session, "community"))
    community["derived"][0]["trigger_states"].append("off_market")
    edit.save(session, manager.workflows, "community", community, admin, clock(), 1, "recount")
    estate = make_realestate(manager, session, support, properties=2, reps=0)

    outcome = manager.transition(session, support, estate.community.id, "sold_out")

    assert sorted(outcome.cascaded) == sorted(p.id for p in estate.properties)
    assert statuses(manager, session, [estate.community]) == ["sold_out"]


def test_a_workflow_file_with_a_loop_imports_nothing_and_says_the_loop_once(
        manager, session, admin, clock):
    before = stored(session, "builder")
    raw = json.dumps({"pack": "realestate",
                      "types": {"builder": looping_builder(manager, session)}}).encode()

    with pytest.raises(edit.WorkflowInvalid) as refused:
        edit.import_file(session, manager.workflows, raw, admin, clock())

    assert refused.value.problems == [BUILDER_LOOP]
    assert stored(session, "builder") == before


def test_the_command_line_import_refuses_a_loop_too(manager, session, admin, clock):
    """``flask workflows import`` and ``seed-demo`` load documents without the editor's checks."""
    before = stored(session, "builder")
    doc = {"pack": "realestate", "types": {"builder": looping_builder(manager, session)}}

    with pytest.raises(InvalidInput) as refused, write_transaction(session):
        packs.import_document(session, manager.workflows, doc, admin, clock())

    assert refused.value.fields == {"definition": BUILDER_LOOP}
    assert stored(session, "builder") == before


def test_a_cascade_down_a_hierarchy_of_one_type_is_no_loop(manager, session, admin, clock):
    with write_transaction(session):
        assert packs.import_document(session, manager.workflows, FOLDERS, admin, clock()) == [
            "folder"]


# -------------------------------------------------------------- refused when changes run


def test_a_loop_that_slipped_in_refuses_the_change_and_writes_nothing(manager, session, support):
    estate = make_realestate(manager, session, support, properties=1, reps=1)
    write_straight(session, "builder", looping_builder(manager, session))
    before = everything(session)

    with pytest.raises(CascadeLoop) as refused:
        manager.transition(session, support, estate.builder.id, "suspended")

    builder, rep = repr(estate.builder.name), repr(estate.reps[0].name)
    assert refused.value.message == (
        f"The cascades loop: builder {builder} suspended → sales rep {rep} inactive → "
        f"builder {builder} active → sales rep {rep} active → builder {builder} suspended; "
        "the change was not made.")
    assert (refused.value.status, refused.value.code) == (422, "invalid_transition")
    assert everything(session) == before


def test_a_cascade_that_outruns_the_wave_budget_is_refused_and_writes_nothing(
        manager, session, admin):
    folders = nested_folders(manager, session, admin, depth=cascades.MAX_WAVES + 1)
    before = everything(session)

    with pytest.raises(CascadeLoop) as refused:
        manager.transition(session, admin, folders[0].id, "closed")

    assert refused.value.message == (
        f"The cascades of this change were still going after {cascades.MAX_WAVES} waves "
        f"(folder {folders[0].name!r} closed → … → folder {folders[-1].name!r} closed); "
        "the change was not made.")
    assert everything(session) == before


# ------------------------------------------------------------------- legitimate cascades


def test_a_cascade_deeper_than_six_levels_runs_to_the_bottom(manager, session, admin):
    folders = nested_folders(manager, session, admin, depth=10)

    outcome = manager.transition(session, admin, folders[0].id, "closed")

    assert statuses(manager, session, folders) == ["closed"] * 10
    assert outcome.cascaded == [f.id for f in folders[1:]]


def test_each_follow_up_names_the_change_that_set_it_off(manager, session, admin):
    folders = nested_folders(manager, session, admin, depth=3)

    manager.transition(session, admin, folders[0].id, "closed")

    rows = session.scalars(select(StatusChange).where(StatusChange.source == "cascade")
                           .order_by(StatusChange.id)).all()
    assert [(r.entity_id, r.meta["caused_by"]) for r in rows] == [
        (folders[1].id, [folders[0].id]), (folders[2].id, [folders[1].id])]


def test_a_builder_going_out_of_business_still_moves_every_relative(manager, session, support):
    estate = make_realestate(manager, session, support, properties=12, reps=2)
    for prop in estate.properties[:2]:  # 10 left available: limited availability
        manager.transition(session, support, prop.id, "under_contract")
        manager.transition(session, support, prop.id, "sold")
    before = count_rows(session)

    outcome = manager.transition(session, support, estate.builder.id, "out_of_business")

    assert statuses(manager, session, [estate.builder, estate.community]) == [
        "out_of_business", "limited_availability"]
    assert statuses(manager, session, estate.properties) == ["sold"] * 2 + ["off_market"] * 10
    assert statuses(manager, session, estate.reps) == ["inactive", "inactive"]
    assert len(outcome.cascaded) == 12
    assert count_rows(session)["status_changes"] - before["status_changes"] == 13

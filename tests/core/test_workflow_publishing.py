"""Workflow versions, drafts checked against live data, publishing with a mapping of stranded
states, and rollback (CONTRACT §10, issue 18), on SQLite and PostgreSQL."""
from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_manager, make_realestate
from webapp.core.base.errors import InvalidInput
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk import operations as bulk
from webapp.core.changes.manager import StateManager
from webapp.core.publishing import drafts, publish, versions
from webapp.core.workflows import editing
from webapp.models import BulkOperation, Entity, StatusChange, WorkflowDefinition, WorkflowVersion


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, clock, admin) -> Iterator[tuple[Session, StateManager]]:
    session = request.getfixturevalue("session" if request.param == "sqlite" else "pg_session")
    if session.scalar(select(func.count()).select_from(WorkflowDefinition)):
        yield session, StateManager(clock=clock)
    else:
        yield session, make_manager(session, clock, admin)


def without_reserved(doc: dict) -> dict:
    """The property workflow with ``reserved`` and its ``reserve`` transition taken out."""
    new = copy.deepcopy(doc)
    del new["states"]["reserved"]
    new["transitions"] = [t for t in new["transitions"] if t["name"] != "reserve"]
    for t in new["transitions"]:
        t["from"] = [s for s in t["from"] if s != "reserved"]
    return new


def current(session: Session, entity_type: str = "property") -> dict:
    return versions.in_force(session, entity_type).definition


@pytest.fixture
def estate(db, admin):
    """14 properties: 12 reserved, 2 available."""
    session, sm = db
    made = make_realestate(sm, session, admin, properties=14, reps=0)
    ids = [p.id for p in made.properties]
    for pid in ids[:12]:
        sm.transition(session, admin, pid, "reserved")
    return ids


def statuses(session: Session, ids: list[int]) -> dict[int, str]:
    session.rollback()
    return dict(session.execute(select(Entity.id, Entity.status).where(Entity.id.in_(ids))).all())


def test_a_draft_removing_reserved_is_refused_until_mapped_then_publishes_and_rolls_back(
        db, estate, config_editor, admin):
    session, sm = db
    before = copy.deepcopy(current(session))
    drafts.put(session, "property", without_reserved(before), config_editor, sm.clock())

    found = drafts.check(session, sm.workflows, "property",
                         drafts.get(session, "property").definition, {}, sm.clock())
    assert found.problems == []
    assert found.stranded == {"reserved": 12}
    assert found.newly_blocked == {"reserve": 2}  # the two available ones could reserve today

    with pytest.raises(publish.StrandedEntities) as refused:
        publish.publish(session, sm, config_editor, "property", without_reserved(before), {},
                        "drop reserved")
    assert refused.value.status == 422
    assert refused.value.to_dict()["stranded"] == {"reserved": 12}
    assert "12 properties are in 'reserved'" in refused.value.messages[0]
    assert [v.version for v in versions.listing(session, "property")] == [1]

    done = publish.publish(session, sm, config_editor, "property", without_reserved(before),
                           {"reserved": "pending"}, "drop reserved", discard_draft=True)

    assert done.version == 2 and done.moved == {"reserved": 12}
    assert set(statuses(session, estate[:12]).values()) == {"pending"}
    moves = session.scalars(select(StatusChange).where(
        StatusChange.correlation_id == done.correlation_id)).all()
    assert {(m.source, m.old_status, m.new_status) for m in moves} == {
        ("migration", "reserved", "pending")}
    assert sorted(m.entity_id for m in moves) == sorted(estate[:12])
    assert "reserved" not in sm.workflow(session, "property").states
    assert drafts.find(session, "property") is None

    back = publish.rollback(session, sm, admin, "property", 1, None, None)

    assert back.version == 3 and back.moved == {}
    assert current(session)["states"] == before["states"]
    assert current(session)["transitions"] == before["transitions"]
    listed = versions.listing(session, "property")
    assert [(v.version, v.actor, v.comment) for v in listed] == [
        (3, admin.name, "Rollback to version 1."), (2, config_editor.name, "drop reserved"),
        (1, admin.name, "First version, from the real estate pack.")]
    assert listed[1].correlation_id == done.correlation_id


def test_the_migration_is_undone_as_one_bulk_operation_once_the_state_is_back(
        db, estate, config_editor, admin):
    session, sm = db
    doc = current(session)
    done = publish.publish(session, sm, config_editor, "property", without_reserved(doc),
                           {"reserved": "pending"}, "drop reserved")
    publish.rollback(session, sm, admin, "property", 1, None, "bring it back")
    op = session.scalar(select(BulkOperation).where(
        BulkOperation.correlation_id == done.correlation_id))
    assert (op.operation_type, op.successful_items) == ("migration", 12)

    req = bulk_jobs.undo_request(session, admin, done.correlation_id, dry_run=False)
    result = bulk.run(session, sm, admin, req, "undo-of-migration")

    assert result.successful_items == 12, result.failure_details
    assert set(statuses(session, estate[:12]).values()) == {"reserved"}


def test_every_save_is_the_next_numbered_version_with_its_comment(db, config_editor):
    session, sm = db
    doc = current(session, "ticket")
    doc["states"]["NEW"]["label"] = "Brand new"
    editing.save(session, sm.workflows, "ticket", doc, config_editor, sm.clock(), 1, "relabel")
    doc["states"]["NEW"]["label"] = "Fresh"
    editing.save(session, sm.workflows, "ticket", doc, config_editor, sm.clock(), 2, "again")

    listed = versions.listing(session, "ticket")
    assert [(v.version, v.comment) for v in listed][:2] == [(3, "again"), (2, "relabel")]
    assert versions.get(session, "ticket", 2).definition["states"]["NEW"]["label"] == "Brand new"
    diff = versions.compare(session, "ticket", 2, 3)
    assert diff.sentences == ["State 'NEW' changed: label Brand new → Fresh."]


def test_the_diff_names_added_removed_and_changed_states_transitions_rules_slas(db, config_editor):
    session, sm = db
    doc = current(session, "ticket")
    new = copy.deepcopy(doc)
    new["states"]["TRIAGE"] = {"label": "Triage", "category": "active", "terminal": False}
    new["transitions"].append({"name": "triage", "from": ["NEW"], "to": "TRIAGE"})
    new["transitions"].append({"name": "untriage", "from": ["TRIAGE"], "to": "OPEN"})
    hold = next(t for t in new["transitions"] if t["to"] == "ONHOLD")
    hold["roles"] = ["admin"]
    hold.setdefault("rules", []).append({"kind": "min_age", "params": {"days": 2}})
    new["slas"][0]["goals"][-1]["hours"] = 96
    publish.publish(session, sm, config_editor, "ticket", new, None, "triage")

    d = versions.compare(session, "ticket", 1, 2).to_dict()

    assert [i["name"] for i in d["states"]["added"]] == ["TRIAGE"]
    assert [i["name"] for i in d["transitions"]["added"]] == ["triage", "untriage"]
    assert [i["name"] for i in d["transitions"]["changed"]] == [hold["name"]]
    assert [i["name"] for i in d["rules"]["added"]] == [hold["name"]]
    assert [i["name"] for i in d["slas"]["changed"]] == ["resolution"]
    assert "Transition 'triage' added (NEW → TRIAGE)." in d["sentences"]
    assert d["states"]["removed"] == [] and d["fields"]["changed"] == []


def test_newly_blocked_counts_narrowed_roles_and_new_failing_rules(db, estate, admin):
    session, sm = db
    doc = current(session)
    new = copy.deepcopy(doc)
    withdraw = next(t for t in new["transitions"] if t["name"] == "withdraw")
    withdraw["roles"] = ["admin"]  # support may no longer
    hold = next(t for t in new["transitions"] if t["name"] == "hold")
    hold["rules"] = [{"kind": "min_age", "params": {"days": 30}}]  # every property is new

    found = drafts.check(session, sm.workflows, "property", new, {}, sm.clock())

    assert found.newly_blocked == {"hold": 2, "withdraw": 14}
    assert found.blocked["withdraw"].reasons == [
        "In available: support may no longer take it.", "In reserved: support may no longer take it."]
    assert set(found.blocked["hold"].examples) == set(estate[12:])
    assert found.stranded == {}


def test_publishing_is_all_or_nothing_when_the_move_fails_halfway(db, estate, config_editor,
                                                                  monkeypatch):
    session, sm = db
    doc = current(session)
    monkeypatch.setattr(publish, "CHUNK", 5)
    calls = []
    real = sm.move

    def failing(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kw)

    monkeypatch.setattr(sm, "move", failing)
    with pytest.raises(RuntimeError):
        publish.publish(session, sm, config_editor, "property", without_reserved(doc),
                        {"reserved": "pending"}, "drop reserved")

    assert set(statuses(session, estate[:12]).values()) == {"reserved"}
    assert [v.version for v in versions.listing(session, "property")] == [1]
    assert session.scalar(select(func.count()).select_from(StatusChange).where(
        StatusChange.source == "migration")) == 0
    assert "reserved" in sm.workflow(session, "property").states


def test_bad_mappings_and_definitions_are_refused_naming_them(db, estate, config_editor):
    session, sm = db
    doc = without_reserved(current(session))
    with pytest.raises(InvalidInput) as unknown:
        publish.publish(session, sm, config_editor, "property", doc, {"reserved": "limbo"}, "")
    assert "limbo" in unknown.value.fields["state_mapping.reserved"]
    with pytest.raises(InvalidInput) as kept:
        publish.publish(session, sm, config_editor, "property", doc,
                        {"reserved": "pending", "available": "pending"}, "")
    assert "state_mapping.available" in kept.value.fields
    broken = copy.deepcopy(doc)
    broken["states"]["limbo"] = {"label": "Limbo", "category": "active", "terminal": False}
    with pytest.raises(editing.WorkflowInvalid) as invalid:
        publish.publish(session, sm, config_editor, "property", broken, {"reserved": "pending"}, "")
    assert any("'limbo' cannot be reached" in p for p in invalid.value.problems)
    assert session.scalar(select(func.count()).select_from(WorkflowVersion).where(
        WorkflowVersion.entity_type == "property")) == 1


def test_a_cascade_of_another_type_into_a_removed_state_is_a_problem(db, config_editor):
    session, sm = db
    doc = copy.deepcopy(current(session))
    del doc["states"]["off_market"]
    doc["transitions"] = [t for t in doc["transitions"]
                          if t["to"] != "off_market" and t["from"] != ["off_market"]]
    doc.pop("sweep")

    found = drafts.check(session, sm.workflows, "property", doc, {}, sm.clock())

    assert any("builder cascade on 'out_of_business' moves property entities to 'off_market'"
               in p for p in found.problems)
    assert found.touched["sweep"]["after"] == 0

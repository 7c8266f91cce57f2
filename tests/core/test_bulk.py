"""Bulk transition, assign and update through the core: all or nothing, per item, dry runs."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.factories import count_rows, make_entity, make_realestate, make_user
from webapp.core.base.errors import InvalidInput
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes import statements
from webapp.models import AuditEntry, BulkOperation, Entity, OutboxEvent, StatusChange


def _cid() -> str:
    return str(uuid.uuid4())


def _statuses(session, ids):
    session.rollback()
    return dict(session.execute(select(Entity.id, Entity.status).where(Entity.id.in_(ids))).all())


def _properties(manager, session, actor, n=5):
    return [p.id for p in make_realestate(manager, session, actor, properties=n, reps=0).properties]


def _sell(manager, session, actor, entity_id):
    for state in ("under_contract", "sold"):
        manager.transition(session, actor, entity_id, state)


def _history(session, cid):
    session.rollback()
    return list(session.scalars(select(StatusChange).where(StatusChange.correlation_id == cid)))


def test_all_or_nothing_with_a_failure_in_the_last_item_changes_nothing(manager, session, support):
    ids = _properties(manager, session, support)
    _sell(manager, session, support, ids[-1])
    before, cid = count_rows(session), _cid()

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="off_market", rollback_on_error=True), cid)

    assert result.was_rolled_back is True
    assert result.successful_ids == []
    assert result.to_dict()["failed_ids"] == [ids[-1]]
    assert "final state" in result.failure_details[ids[-1]]
    assert set(_statuses(session, ids[:-1]).values()) == {"available"}
    assert _history(session, cid) == []
    after = count_rows(session)
    assert (after["entities"], after["status_changes"], after["outbox_events"]) == (
        before["entities"], before["status_changes"], before["outbox_events"])
    assert "nothing was written" in result.warnings[0]


def test_per_item_mode_writes_the_valid_items_and_reports_exactly_the_failed_ones(
        manager, session, support):
    ids = _properties(manager, session, support, 6)
    _sell(manager, session, support, ids[1])
    _sell(manager, session, support, ids[4])
    cid = _cid()

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids) + (999_999,), target_state="off_market",
        rollback_on_error=False, comment="season over"), cid)

    body = result.to_dict()
    assert body["failed_ids"] == [ids[1], ids[4], 999_999]
    assert body["failure_details"] == {
        str(ids[1]): f"Property {_name(session, ids[1])!r} is sold, a final state; it cannot "
                     f"change any more.",
        str(ids[4]): f"Property {_name(session, ids[4])!r} is sold, a final state; it cannot "
                     f"change any more.",
        "999999": "No entity with id 999999."}
    assert body["successful_ids"] == [ids[0], ids[2], ids[3], ids[5]]
    assert (body["total_items"], body["successful_items"], body["failed_items"]) == (7, 4, 3)
    assert body["success_rate"] == 57.1 and body["was_rolled_back"] is False
    assert body["audit_correlation_id"] == cid
    rows = _history(session, cid)
    assert sorted(r.entity_id for r in rows) == sorted(body["successful_ids"])
    assert {(r.source, r.old_status, r.new_status, r.reason) for r in rows} == {
        ("bulk", "available", "off_market", "season over")}


def _name(session, entity_id):
    return session.get(Entity, entity_id).name


def test_one_audit_record_tells_the_whole_operation_with_each_entity(manager, session, support):
    ids = _properties(manager, session, support, 4)
    cid = _cid()

    bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="pending", rollback_on_error=False), cid)

    records = list(session.scalars(select(AuditEntry).where(AuditEntry.correlation_id == cid)))
    assert [r.event_type for r in records] == ["bulk.transition"]
    extra = records[0].diff["extra"]
    assert extra["entities"] == [{"old_status": "available", "new_status": "pending", "count": 4,
                                  "ids": ",".join(map(str, ids))}]
    assert (extra["total"], extra["successful"], extra["failed"]) == (4, 4, 0)
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.entity_id.in_(ids))).all()
    assert sum(e.payload.get("correlation_id") == cid for e in events) == 4


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(manager, session, support):
    ids = _properties(manager, session, support, 3)
    _sell(manager, session, support, ids[0])
    before = count_rows(session)

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="reserved", dry_run=True,
        rollback_on_error=False), _cid())

    assert result.dry_run is True and result.audit_correlation_id is None
    assert result.successful_ids == ids[1:] and list(result.failure_details) == [ids[0]]
    assert [(r["id"], r["old_status"], r["new_status"], r["ok"]) for r in result.rows] == [
        (ids[0], "sold", "sold", False), (ids[1], "available", "reserved", True),
        (ids[2], "available", "reserved", True)]
    assert count_rows(session) == before
    assert session.scalar(select(BulkOperation.id)) is None


def test_a_dry_run_in_all_or_nothing_mode_warns_that_nothing_would_be_written(
        manager, session, support):
    ids = _properties(manager, session, support, 3)
    _sell(manager, session, support, ids[2])

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="pending", dry_run=True), _cid())

    assert result.successful_ids == ids[:2] and not result.was_rolled_back
    assert result.warnings == [("All or nothing: 1 item failed, so nothing would be written; the "
                               "other 2 were valid.")]


def test_every_real_run_is_recorded_as_a_bulk_operation(manager, session, support):
    ids = _properties(manager, session, support, 2)
    cid = _cid()

    bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="pending", comment="hold them"), cid)

    op = session.scalar(select(BulkOperation).where(BulkOperation.correlation_id == cid))
    assert (op.operation_type, op.actor, op.state, op.total_items, op.successful_items) == (
        "transition", support.name, "done", 2, 2)
    assert op.params["target_state"] == "pending" and op.params["ids"] == ids
    assert op.result["successful_ids"] == ids and op.finished_at is not None


def test_rules_are_checked_for_every_item_in_batches(manager, session, support, clock):
    old = make_entity(manager, session, support, "builder", name="Old Homes")
    clock.advance(days=40)
    young = make_entity(manager, session, support, "builder", name="Young Homes")

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", (old.id, young.id), target_state="inactive", rollback_on_error=False), _cid())

    assert result.successful_ids == [old.id]
    assert result.failure_details == {young.id: (
        "Builder 'Young Homes' is 0 days old; it must be at least 30 days old to deactivate.")}


def test_a_state_the_type_does_not_have_fails_each_item_with_the_states_it_has(
        manager, session, support):
    ids = _properties(manager, session, support, 1)

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="archived", rollback_on_error=False), _cid())

    assert result.failure_details[ids[0]] == (
        "Property has no state 'archived'; its states are available, pending, reserved, "
        "under_contract, sold, off_market.")


def test_cascades_of_bulk_changes_are_written_with_them(manager, session, support):
    estate = make_realestate(manager, session, support, properties=3, reps=1)
    cid = _cid()

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", (estate.builder.id,), target_state="out_of_business"), cid)

    assert result.cascaded == 4
    assert set(_statuses(session, [p.id for p in estate.properties]).values()) == {"off_market"}
    assert {r.source for r in _history(session, cid)} == {"bulk", "cascade"}


# --------------------------------------------------------------------- assign and update


def test_assign_sets_the_assignee_of_every_task(manager, session, support):
    make_user(session, username="priya")
    tasks = [make_entity(manager, session, support, "task").id for _ in range(3)]
    cid = _cid()

    result = bulk.run(session, manager, support, BulkRequest(
        "assign", tuple(tasks), assignee=" priya "), cid)

    assert result.successful_ids == tasks
    session.rollback()
    assert {session.get(Entity, t).data["assignee"] for t in tasks} == {"priya"}
    assert {(r.action, r.source, r.old_status == r.new_status) for r in _history(session, cid)} == {
        ("assign", "bulk", True)}


def test_update_merges_the_patch_and_refuses_values_the_workflow_forbids(manager, session, support):
    good = make_entity(manager, session, support, "ticket",
                       data={"priority": "LOW", "category": "Plumbing"})
    other = make_entity(manager, session, support, "ticket", data={"priority": "LOW"})

    result = bulk.run(session, manager, support, BulkRequest(
        "update", (good.id, other.id), update_data={"priority": "HIGH", "category": None},
        rollback_on_error=False), _cid())
    assert result.successful_ids == [good.id, other.id]
    session.rollback()
    assert session.get(Entity, good.id).data == {"priority": "HIGH"}

    refused = bulk.run(session, manager, support, BulkRequest(
        "update", (good.id,), update_data={"priority": "URGENT"}, rollback_on_error=False), _cid())
    assert refused.failure_details == {good.id: "Priority must be one of LOW, MEDIUM, HIGH, CRITICAL."}


@pytest.mark.parametrize("key", ["id", "type", "status", "version", "created_at", "created_by"])
def test_update_refuses_protected_fields(key):
    with pytest.raises(InvalidInput) as refused:
        bulk.check_update_data({key: 1, "fine": 2})
    assert refused.value.fields == {f"update_data.{key}": "protected: change it another way"}


# ------------------------------------------------------------------------------ input


def test_more_than_1000_ids_are_refused():
    with pytest.raises(InvalidInput) as refused:
        bulk.check_ids(list(range(1, 1002)))
    assert "at most 1,000" in refused.value.fields["ids"]
    assert len(bulk.check_ids(list(range(1, 1001)))) == 1000


@pytest.mark.parametrize("ids, complaint", [
    ([1, 2, 2, 3, 3], "Duplicated: 2, 3."), ([], "Send a list of entity ids, e.g. [1, 2, 3]."),
    ([1, "2"], "Not an entity id: '2'."), ([True], "Not an entity id: True."),
    ("1,2", "Send a list of entity ids, e.g. [1, 2, 3]."),
])
def test_ids_must_be_distinct_whole_numbers(ids, complaint):
    with pytest.raises(InvalidInput) as refused:
        bulk.check_ids(ids)
    assert refused.value.fields == {"ids": complaint}


def test_the_property_limit_setting_caps_one_request(manager, session, support, admin, clock):
    ids = _properties(manager, session, support, 4)
    with write_transaction(session):
        manager.settings.apply(session, {"property_bulk_operation_max": 3}, admin.name, clock())

    with pytest.raises(InvalidInput) as refused:
        bulk.check_limits(session, manager, BulkRequest("transition", tuple(ids)))
    assert refused.value.fields == {"ids": "At most 3 properties per request."}
    bulk.check_limits(session, manager, BulkRequest("transition", tuple(ids[:3])))


# ------------------------------------------------------------------ optimistic locking


def test_an_entity_changed_by_someone_else_during_the_operation_is_reported_not_overwritten(
        manager, session, support):
    ids = _properties(manager, session, support, 3)
    meddled = ids[1]

    def someone_else_edits(entity, _target, ctx):
        # Another writer bumps the row between our read and our write.
        if entity.id == meddled:
            ctx.session.execute(Entity.__table__.update().where(Entity.id == meddled).values(
                version=Entity.version + 1, name="Renamed meanwhile"))

    manager.register_validator("property", someone_else_edits)
    result = bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="pending", rollback_on_error=False), _cid())

    assert result.successful_ids == [ids[0], ids[2]]
    assert "changed by someone else" in result.failure_details[meddled]
    session.rollback()
    kept = session.get(Entity, meddled)
    assert (kept.status, kept.name) == ("available", "Renamed meanwhile")


@pytest.mark.parametrize("update_from", [True, False], ids=["update-from", "older-sqlite"])
@pytest.mark.parametrize("shape", [("data",), ("status",), ("status", "data", "name")])
def test_each_form_of_sqlite_update_leaves_a_row_whose_version_moved(
        manager, session, support, monkeypatch, update_from, shape):
    # A data update goes as one UPDATE … FROM (VALUES …) per chunk, a status change (and any
    # change before SQLite 3.33) row by row: each writes only the rows still at their version.
    monkeypatch.setattr(statements, "UPDATE_FROM", update_from)
    ids = _properties(manager, session, support, 3)
    session.rollback()
    before = {e.id: (e.version, e.status, e.name, e.data)
              for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))}
    versions = {i: v[0] for i, v in before.items()}
    now = manager.clock()
    with write_transaction(session):
        sql = statements.statements_for(session.connection())
        when = sql.bind(Entity.__table__.c.updated_at)(now)
        values = {"status": ("pending", when),
                  "data": (sql.json(Entity.__table__.c.data)({"bedrooms": 9}),), "name": ("Renamed",)}
        rows = [(when, *(v for part in shape for v in values[part]), i,
                 versions[i] + (i == ids[1])) for i in ids]
        assert sql.update_entities(rows, shape) in (2, -1)
    session.rollback()
    after = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))}
    assert [after[i].version - versions[i] for i in ids] == [1, 0, 1]
    changed = {"status": after[ids[0]].status == "pending",
               "data": after[ids[0]].data.get("bedrooms") == 9, "name": after[ids[0]].name == "Renamed"}
    assert changed == {part: part in shape for part in changed}
    moved = after[ids[1]]
    assert (moved.version, moved.status, moved.name, moved.data) == before[ids[1]]


def test_entities_changed_after_the_preview_are_skipped(manager, session, support):
    ids = _properties(manager, session, support, 3)
    preview_at = bulk.last_change_id(session)
    manager.transition(session, support, ids[0], "reserved")

    result = bulk.run(session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="pending", rollback_on_error=False,
        since_change_id=preview_at), _cid())

    assert result.successful_ids == ids[1:]
    assert "changed after the preview" in result.failure_details[ids[0]]
    assert _statuses(session, [ids[0]]) == {ids[0]: "reserved"}


# ------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_bulk_update_transition_and_undo_on_postgresql(pg_session, clock, support, admin):
    from tests.factories import make_manager
    from webapp.core.bulk import jobs as bulk_jobs

    manager = make_manager(pg_session, clock, admin)
    ids = _properties(manager, pg_session, support, 4)
    _sell(manager, pg_session, support, ids[3])
    cid = _cid()

    moved = bulk.run(pg_session, manager, support, BulkRequest(
        "transition", tuple(ids), target_state="off_market", rollback_on_error=False), cid)
    edited = bulk.run(pg_session, manager, support, BulkRequest(
        "update", tuple(ids[:2]), update_data={"bedrooms": 3}), _cid())

    assert moved.successful_ids == ids[:3] and list(moved.failure_details) == [ids[3]]
    assert edited.successful_ids == ids[:2]
    assert _statuses(pg_session, ids) == {ids[0]: "off_market", ids[1]: "off_market",
                                          ids[2]: "off_market", ids[3]: "sold"}
    events = pg_session.scalars(select(OutboxEvent).where(OutboxEvent.entity_id == ids[0])
                                .order_by(OutboxEvent.id)).all()
    assert events[-2].payload["correlation_id"] == cid
    assert events[-2].payload["old_status"] == "available"
    undone = bulk.run(pg_session, manager, support,
                      bulk_jobs.undo_request(pg_session, support, cid, dry_run=False), _cid())
    assert undone.successful_ids == [ids[2]]  # the other two were edited since
    assert _statuses(pg_session, [ids[2]]) == {ids[2]: "available"}


def test_subscribers_get_the_payloads_the_outbox_delivers(manager, session, support):
    """Two builders of one payload (the writer in Python, the database for the outbox rows):
    a subscriber and a webhook must hear the same thing."""
    ids = _properties(manager, session, support, 3)
    heard = []
    manager.committed.subscribe("property", heard.append)
    try:
        for request in (BulkRequest("transition", tuple(ids), target_state="pending"),
                        BulkRequest("update", tuple(ids), update_data={"bedrooms": 4})):
            bulk.run(session, manager, support, request, _cid())
    finally:
        manager.committed.unsubscribe_all()
    session.rollback()
    outbox = {e.payload["change_id"]: e.payload for e in session.scalars(
        select(OutboxEvent).where(OutboxEvent.entity_id.in_(ids), OutboxEvent.event_type.in_(
            ("StatusChanged", "EntityUpdated"))))}
    assert len(heard) == 6
    assert {e["event"] for e in heard} == {"StatusChanged", "EntityUpdated"}
    for event in heard:
        assert event == outbox[event["change_id"]]

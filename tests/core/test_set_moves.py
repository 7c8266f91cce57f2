"""A migration's set-based move (``StateManager.move``) writes what a change written row by row
writes: history with the seconds in the old state, the entity row, one outbox event per
change with the full payload, exact entity counts; and a move that something follows
(a cascade) still goes through the row path, follow-ups included. SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_manager, make_realestate
from webapp.core.base.events import idempotency_key
from webapp.core.base.transactions import write_transaction
from webapp.core.changes import counts
from webapp.core.changes.manager import StateManager
from webapp.models import Entity, OutboxEvent, StatusChange, WorkflowDefinition


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, clock, admin) -> Iterator[tuple[Session, StateManager]]:
    session = request.getfixturevalue("session" if request.param == "sqlite" else "pg_session")
    if session.scalar(select(func.count()).select_from(WorkflowDefinition)):
        yield session, StateManager(clock=clock)
    else:
        yield session, make_manager(session, clock, admin)


def move(session: Session, sm: StateManager, actor, ids, entity_type, old, new):
    cid = str(uuid.uuid4())
    with write_transaction(session):
        moved, cascaded = sm.move(session, ids, entity_type, old, new, actor, sm.clock(), cid,
                                  action="migrate", source="migration", reason="v2",
                                  event_type="workflow.migrate")
    return moved, cascaded, cid


def test_a_set_based_move_records_history_outbox_and_counts_like_any_change(db, admin, clock):
    session, sm = db
    made = make_realestate(sm, session, admin, properties=5, reps=0)
    ids = sorted(p.id for p in made.properties)
    for pid in ids[:4]:
        sm.transition(session, admin, pid, "reserved")
    reserved_at = clock()
    before = {e.id: e.version for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))}
    clock.advance(hours=3, seconds=7, microseconds=250)
    session.rollback()

    moved, cascaded, cid = move(session, sm, admin, ids, "property", "reserved", "pending")

    assert (moved, cascaded) == (ids[:4], 0)  # the fifth was never reserved: left alone
    session.rollback()
    rows = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))}
    assert [rows[i].status for i in ids] == ["pending"] * 4 + ["available"]
    for i in ids[:4]:
        assert rows[i].version == before[i] + 1
        assert rows[i].status_changed_at == rows[i].updated_at == clock()
    history = session.scalars(select(StatusChange).where(StatusChange.correlation_id == cid)
                              .order_by(StatusChange.entity_id)).all()
    assert [(h.entity_id, h.old_status, h.new_status, h.action, h.source, h.actor, h.reason)
            for h in history] == [(i, "reserved", "pending", "migrate", "migration", admin.name,
                                   "v2") for i in ids[:4]]
    in_reserved = (clock() - reserved_at).total_seconds()
    assert all(abs(h.seconds_in_previous - in_reserved) < 1e-6 for h in history)
    assert all(h.created_at == clock() for h in history)
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.entity_id.in_(ids[:4]),
                                                       OutboxEvent.event_type == "StatusChanged",
                                                       OutboxEvent.payload["source"].as_string()
                                                       == "migration")).all()
    assert sorted((e.payload["change_id"], e.payload["entity_id"]) for e in events) == [
        (h.id, h.entity_id) for h in history]
    assert {(e.state, e.payload["correlation_id"], e.payload["parent_id"],
             e.payload["old_status"], e.payload["new_status"]) for e in events} == {
        ("pending", cid, made.community.id, "reserved", "pending")}
    assert len({e.idempotency_key for e in events}) == 4
    assert counts.drift(session) == []


def test_a_move_a_cascade_follows_goes_row_by_row_with_its_follow_ups(db, admin):
    session, sm = db
    made = make_realestate(sm, session, admin, properties=3, reps=0)
    session.rollback()

    moved, cascaded, cid = move(session, sm, admin, [made.community.id], "community", "active",
                                "sold_out")

    assert (moved, cascaded) == ([made.community.id], 3)
    session.rollback()
    assert set(session.scalars(select(Entity.status).where(
        Entity.id.in_([p.id for p in made.properties])))) == {"off_market"}
    sources = session.scalars(select(StatusChange.source).where(
        StatusChange.correlation_id == cid)).all()
    assert sorted(sources) == ["cascade"] * 3 + ["migration"]
    assert counts.drift(session) == []


def test_ids_another_writer_moved_first_are_left_out(db, admin, clock):
    session, sm = db
    made = make_realestate(sm, session, admin, properties=3, reps=0)
    ids = sorted(p.id for p in made.properties)
    for pid in ids:
        sm.transition(session, admin, pid, "reserved")
    sm.transition(session, admin, ids[1], "available")
    clock.advance(minutes=5)
    session.rollback()

    moved, _, cid = move(session, sm, admin, ids, "property", "reserved", "pending")

    assert moved == [ids[0], ids[2]]
    assert session.scalar(select(func.count()).select_from(StatusChange).where(
        StatusChange.correlation_id == cid)) == 2
    assert counts.drift(session) == []


def test_outbox_keys_the_database_makes_are_time_ordered_uuids_as_python_makes_them(db, admin):
    """Each key a version-7 UUID in its canonical form, unique, its millisecond between keys
    Python made just before and after, its 74 random bits different on every row."""
    session, sm = db
    made = make_realestate(sm, session, admin, properties=30, reps=0)
    ids = sorted(p.id for p in made.properties)
    session.rollback()
    first = idempotency_key()
    _moved, _cascaded, cid = move(session, sm, admin, ids, "property", "available", "pending")
    last = idempotency_key()
    keys = session.scalars(select(OutboxEvent.idempotency_key).where(
        OutboxEvent.payload["correlation_id"].as_string() == cid)).all()
    assert len(keys) == 30
    for key in keys:
        parsed = uuid.UUID(key)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, key)
        assert first[:13] <= key[:13] <= last[:13]  # the millisecond, in hex
    assert len({key[14:] for key in keys}) == 30

"""Timers (CONTRACT §8) on SQLite and PostgreSQL, with a hand-moved clock: a subscription
expires at its expires_at and not before, an after_hours timeout fires, a refused timer is
recorded once with its reasons (and not tried again each tick), and only one process runs the
timers at a time."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_entity, make_manager
from webapp.core.base import lease
from webapp.core.base.transactions import write_transaction
from webapp.core.timing import timers
from webapp.core.workflows import packs
from webapp.models import (
    Approval,
    AuditEntry,
    Entity,
    OutboxEvent,
    StatusChange,
    TimerAttempt,
)

#: Parcels wait 48 hours for pick-up, then go back; claims close after 24 hours, but only
#: with a resolution (a rule the timer cannot satisfy on its own).
TYPES = {
    "parcel": {
        "label": "Parcel", "initial": "waiting",
        "states": {"waiting": {"timeout": {"after_hours": 48, "action": "send_back"}},
                   "collected": {"terminal": True}, "returned": {"terminal": True}},
        "transitions": [{"name": "collect", "from": ["waiting"], "to": "collected"},
                        {"name": "send_back", "from": ["waiting"], "to": "returned"}]},
    "claim": {
        "label": "Claim", "initial": "open",
        "fields": {"resolution": {"type": "text"}},
        "states": {"open": {"timeout": {"after_hours": 24, "action": "close"}},
                   "closed": {"terminal": True}},
        "transitions": [{"name": "close", "from": ["open"], "to": "closed",
                         "rules": [{"kind": "required_fields",
                                    "params": {"fields": ["resolution"]}}]}]},
    "permit": {
        "label": "Permit", "initial": "granted",
        "states": {"granted": {"timeout": {"after_hours": 1, "action": "revoke"}},
                   "revoked": {"terminal": True}},
        "transitions": [{"name": "revoke", "from": ["granted"], "to": "revoked",
                         "approval": {"roles": ["admin"]}}]},
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


@pytest.fixture
def sm(database, clock, admin):
    with database() as session:
        manager = make_manager(session, clock, admin)
        with write_transaction(session):
            packs.import_document(session, manager.workflows,
                                  {"pack": "timing_tests", "types": TYPES}, admin, clock())
    return manager


def _status(database, entity_id: int) -> str:
    with database() as s:
        return s.scalar(select(Entity.status).where(Entity.id == entity_id))


def _run(database, sm, clock) -> timers.TimersReport:
    with database() as session:
        return timers.run(session, sm, clock)


def _subscription(sm, database, admin, expires_at: str) -> int:
    with database() as session:
        e = make_entity(sm, session, admin, "subscription", data={"expires_at": expires_at})
        sm.transition(session, admin, e.id, "active")
        return e.id


def test_a_subscription_expires_at_its_expires_at_and_not_before(database, sm, clock, admin):
    at = clock() + timedelta(days=30)
    sub = _subscription(sm, database, admin, at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    later = _subscription(sm, database, admin, (at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))

    clock.advance(days=30, seconds=-1)
    assert _run(database, sm, clock).fired == 0
    assert _status(database, sub) == "active"

    clock.advance(seconds=1)
    report = _run(database, sm, clock)

    assert (report.fired, report.refused) == (1, 0)
    assert _status(database, sub) == "expired"
    assert _status(database, later) == "active"
    with database() as s:
        change = s.scalars(select(StatusChange).where(StatusChange.entity_id == sub)
                           .order_by(StatusChange.id.desc())).first()
        assert (change.source, change.actor, change.action) == ("timer", "timer", "expire")
        assert "Expires at reached" in change.reason
        assert s.scalar(select(AuditEntry.event_type).order_by(AuditEntry.id.desc())) \
            == "timer.fire"


def test_an_after_hours_timeout_fires_after_that_long_in_the_state(database, sm, clock, admin):
    with database() as session:
        parcel = make_entity(sm, session, admin, "parcel").id
        collected = make_entity(sm, session, admin, "parcel").id
        sm.transition(session, admin, collected, "collected")

    clock.advance(hours=47, minutes=59)
    assert _run(database, sm, clock).fired == 0
    clock.advance(minutes=1)
    report = _run(database, sm, clock)

    assert report.fired == 1 and report.by_type == {"parcel": {"fired": 1, "refused": 0,
                                                               "asked": 0}}
    assert _status(database, parcel) == "returned"
    assert _status(database, collected) == "collected"
    assert _run(database, sm, clock).fired == 0  # nothing left to do


def test_a_refused_timer_is_recorded_once_with_its_reasons(database, sm, clock, admin):
    with database() as session:
        claim = make_entity(sm, session, admin, "claim").id
    clock.advance(hours=25)

    first = _run(database, sm, clock)
    clock.advance(minutes=5)
    second = _run(database, sm, clock)

    assert (first.refused, second.refused, second.fired) == (1, 0, 0)
    assert _status(database, claim) == "open"
    with database() as s:
        attempts = s.scalars(select(TimerAttempt)).all()
        assert len(attempts) == 1
        assert attempts[0].outcome == "refused" and attempts[0].state == "open"
        assert any("Resolution" in r for r in attempts[0].reasons)
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "TimerFailed")).all()
        assert len(events) == 1
        assert events[0].payload["notification"].startswith("The timer could not close Claim")
        assert [a.id for a, _ in timers.stuck(s)] == [attempts[0].id]


def test_entering_the_state_again_starts_a_new_timer(database, sm, clock, admin):
    with database() as session:
        claim = make_entity(sm, session, admin, "claim").id
    clock.advance(hours=25)
    _run(database, sm, clock)  # refused: no resolution
    with database() as session:
        sm.update_entity(session, admin, claim, version=1, data={"resolution": "refunded"})
    clock.advance(hours=1)
    assert _run(database, sm, clock).fired == 0  # same entry: not tried again

    # a new claim that has its resolution closes on time
    with database() as session:
        ok = make_entity(sm, session, admin, "claim", data={"resolution": "replaced"}).id
    clock.advance(hours=24)
    assert _run(database, sm, clock).fired == 1
    assert _status(database, ok) == "closed"
    with database() as s:
        assert timers.stuck(s)[0][1].id == claim


def test_only_one_process_runs_the_timers_at_a_time(database, sm, clock, admin):
    with database() as session:
        parcel = make_entity(sm, session, admin, "parcel").id
    clock.advance(hours=49)
    with database() as session:
        lease.acquire(session, timers.LEASE, "worker@elsewhere:1", clock(), timers.LEASE_TTL)

    with pytest.raises(timers.TimersBusy):
        _run(database, sm, clock)
    assert _status(database, parcel) == "waiting"

    clock.advance(minutes=3)  # the other holder died: its lease ran out
    assert _run(database, sm, clock).fired == 1


def test_many_due_timers_run_in_chunks(database, sm, clock, admin, monkeypatch):
    monkeypatch.setattr(timers, "CHUNK", 7)
    with database() as session:
        ids = [make_entity(sm, session, admin, "parcel").id for _ in range(20)]
    clock.advance(hours=48)

    report = _run(database, sm, clock)

    assert report.fired == 20
    with database() as s:
        assert s.scalar(select(func.count()).select_from(Entity).where(
            Entity.id.in_(ids), Entity.status == "returned")) == 20
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.event_type == "timer.fire")) == 3


def test_a_timeout_that_needs_approval_asks_for_it_once(database, sm, clock, admin):
    with database() as session:
        permit = make_entity(sm, session, admin, "permit").id
    clock.advance(hours=2)

    first = _run(database, sm, clock)
    clock.advance(hours=1)
    second = _run(database, sm, clock)

    assert (first.asked, first.fired, second.asked, second.refused) == (1, 0, 0, 0)
    assert _status(database, permit) == "granted"
    with database() as s:
        approval = s.scalars(select(Approval)).one()
        assert (approval.requested_by, approval.to_status, approval.status) == \
            ("timer", "revoked", "pending")
        attempt = s.scalars(select(TimerAttempt)).one()
        assert (attempt.outcome, attempt.approval_id) == ("asked", approval.id)
        assert timers.stuck(s) == []  # asking is not a failure

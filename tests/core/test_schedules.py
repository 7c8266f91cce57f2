"""Scheduled transitions in the core (CONTRACT §8), on SQLite and PostgreSQL with a hand-moved
clock: made with every input checked, run when due as their author with a person's checks
(source timer), exactly once; a refused one fails with its reasons and tells its author;
cancelled ones never run."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_entity, make_manager, make_realestate, make_user
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound, PermissionDenied
from webapp.core.timing import schedules
from webapp.models import Approval, Entity, OutboxEvent, ScheduledTransition, StatusChange, User

SUPPORT = Actor("sam", "support")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


@pytest.fixture
def sm(database, clock, admin):
    with database() as session:
        return make_manager(session, clock, admin)


def _ticket(sm, database, admin, **data) -> int:
    with database() as session:
        return make_entity(sm, session, admin, "ticket", data={"priority": "LOW", **data}).id


def _status(database, entity_id: int) -> str:
    with database() as s:
        return s.scalar(select(Entity.status).where(Entity.id == entity_id))


def _schedule(sm, database, entity_id, to, hours=2, actor=SUPPORT, reason="customer asked"):
    with database() as session:
        return schedules.to_dict(schedules.create(sm, session, actor, entity_id, to,
                                                  (sm.clock() + timedelta(hours=hours)).isoformat(),
                                                  reason))


def _run(sm, database) -> schedules.SchedulesReport:
    with database() as session:
        return schedules.run_due(session, sm, sm.clock())


def test_a_schedule_is_made_pending_by_its_author(sm, database, admin):
    ticket = _ticket(sm, database, admin)
    made = _schedule(sm, database, ticket, "open")
    assert (made["entity_id"], made["to"], made["status"], made["actor"], made["reason"]) == \
        (ticket, "OPEN", "pending", "sam", "customer asked")


def test_it_runs_when_due_as_its_author_once(sm, database, admin, clock):
    ticket = _ticket(sm, database, admin)
    made = _schedule(sm, database, ticket, "OPEN", hours=2)

    clock.advance(hours=1, minutes=59)
    assert _run(sm, database).done == 0
    assert _status(database, ticket) == "NEW"

    clock.advance(minutes=1)
    report = _run(sm, database)
    again = _run(sm, database)

    assert (report.done, again.done) == (1, 0)
    assert _status(database, ticket) == "OPEN"
    with database() as s:
        change = s.scalars(select(StatusChange).where(StatusChange.entity_id == ticket)
                           .order_by(StatusChange.id.desc())).first()
        assert (change.source, change.actor, change.reason) == ("timer", "sam", "customer asked")
        row = s.get(ScheduledTransition, made["id"])
        assert row.status == "done" and row.correlation_id == change.correlation_id


def test_a_refused_schedule_fails_with_its_reasons_and_notifies_its_author(sm, database, admin,
                                                                           clock):
    ticket = _ticket(sm, database, admin)
    made = _schedule(sm, database, ticket, "CLOSED")  # NEW cannot go to CLOSED
    clock.advance(hours=3)

    report = _run(sm, database)

    assert report.failed == 1
    assert _status(database, ticket) == "NEW"
    with database() as s:
        row = s.get(ScheduledTransition, made["id"])
        assert row.status == "failed"
        assert any("cannot go from NEW to CLOSED" in r for r in row.outcome["reasons"])
        event = s.scalars(select(OutboxEvent).where(
            OutboxEvent.event_type == "ScheduleFailed")).one()
        assert event.payload["author"] == "sam"
        assert event.payload["notification"].startswith("sam: your scheduled move of Ticket")
        assert "cannot go from NEW to CLOSED" in event.payload["notification"]


def test_it_runs_with_the_authors_role_as_of_the_run(sm, database, admin, clock):
    ticket = _ticket(sm, database, admin)
    with database() as session:
        user_id = make_user(session, role="support", username="sue").id
    made = _schedule(sm, database, ticket, "OPEN", actor=Actor("sue", "support"))
    with database() as session:
        session.get(User, user_id).role = "auditor"
        session.commit()
    clock.advance(hours=3)

    assert _run(sm, database).failed == 1
    with database() as s:
        assert "may no longer change statuses" in \
            s.get(ScheduledTransition, made["id"]).outcome["reasons"][0]


def test_a_move_that_needs_approval_asks_for_it(sm, database, admin, clock):
    with database() as session:
        builder = make_realestate(sm, session, admin, properties=1, reps=0).builder.id
    made = _schedule(sm, database, builder, "out_of_business")
    clock.advance(hours=3)

    assert _run(sm, database).asked == 1
    assert _status(database, builder) == "active"
    with database() as s:
        approval = s.scalars(select(Approval)).one()
        assert (approval.requested_by, approval.to_status) == ("sam", "out_of_business")
        assert s.get(ScheduledTransition, made["id"]).outcome["approval_id"] == approval.id


def test_a_cancelled_schedule_never_runs(sm, database, admin, clock):
    ticket = _ticket(sm, database, admin)
    made = _schedule(sm, database, ticket, "OPEN")
    with database() as session:
        cancelled = schedules.cancel(sm, session, admin, made["id"])
        assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", "ada")
        with pytest.raises(schedules.ScheduleClosed):
            schedules.cancel(sm, session, admin, made["id"])
    clock.advance(hours=3)

    assert _run(sm, database).done == 0
    assert _status(database, ticket) == "NEW"


@pytest.mark.parametrize(("to", "at_hours", "reason", "field"), [
    ("NOPE", 2, "why", "to"),
    ("", 2, "why", "to"),
    ("OPEN", -1, "why", "at"),
    ("OPEN", 24 * 800, "why", "at"),
    ("OPEN", 2, "  ", "reason"),
    ("OPEN", 2, "x" * 2001, "reason"),
])
def test_bad_input_is_refused_naming_the_field(sm, database, admin, to, at_hours, reason, field):
    ticket = _ticket(sm, database, admin)
    with pytest.raises(InvalidInput) as refused:
        _schedule(sm, database, ticket, to, hours=at_hours, reason=reason)
    assert set(refused.value.fields) == {field}


def test_an_entity_in_a_final_state_cannot_be_scheduled(sm, database, admin):
    ticket = _ticket(sm, database, admin)
    with database() as session:
        sm.transition(session, admin, ticket, "CANCELLED", reason="duplicate")
    with pytest.raises(InvalidInput) as refused:
        _schedule(sm, database, ticket, "OPEN")
    assert "a final state" in refused.value.fields["to"]


def test_unknown_entities_and_roles_that_may_not_operate_are_refused(sm, database, admin):
    ticket = _ticket(sm, database, admin)
    with pytest.raises(NotFound):
        _schedule(sm, database, 999999, "OPEN")
    with pytest.raises(PermissionDenied):
        _schedule(sm, database, ticket, "OPEN", actor=Actor("aud", "auditor"))
    with database() as session, pytest.raises(NotFound):
        schedules.cancel(sm, session, admin, 424242)


def test_a_run_left_unfinished_by_a_dead_process_is_settled_from_the_record(sm, database, admin,
                                                                          clock):
    ticket = _ticket(sm, database, admin)
    made = _schedule(sm, database, ticket, "OPEN")
    clock.advance(hours=3)
    with database() as session:  # claimed, then the process died before moving anything
        assert schedules._claim(session, made["id"], clock()) is not None
    assert _run(sm, database).done == 0  # still someone's, as far as anyone can tell

    clock.advance(minutes=11)
    report = _run(sm, database)

    assert (report.recovered, report.done) == (1, 1)
    assert _status(database, ticket) == "OPEN"

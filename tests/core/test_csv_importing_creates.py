"""The CSV import's creates, written set-based (``changes.creating``), leave what creating the
same entities one by one leaves: history, webhook events, SLA clocks, dashboard counts, sealed
sensitive values; and each row's checks still see the rows above it. SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.factories import kept_counts, make_manager, make_user
from webapp.core.base.errors import InvalidInput
from webapp.core.bulk import importing
from webapp.core.bulk.importing import ImportRequest
from webapp.core.changes import counts
from webapp.core.changes.manager import StateManager
from webapp.models import Entity, OutboxEvent, StatusChange
from webapp.models.sla import SlaClock

TICKETS = [  # name, status, priority, customer, sensitive email, assignee
    ("Printer jammed", "", "CRITICAL", "Rosa Diaz", "rosa@example.com", "sam"),
    ("Badge reader offline", "OPEN", "LOW", "Ken Ito", "", ""),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, clock, admin) -> tuple[StateManager, Session]:
    session = request.getfixturevalue("session" if request.param == "sqlite" else "pg_session")
    manager = make_manager(session, clock, admin)
    make_user(session, role="support", username="sam")
    return manager, session


def run(session, manager, actor, raw: bytes, entity_type: str, **options):
    return importing.run(session, manager, actor, ImportRequest(entity_type, **options), raw,
                         str(uuid.uuid4()))


def by_id(session, manager, actor, rows: str):
    """Builders imported by id, each row on its own (the others written)."""
    return run(session, manager, actor, f"id,name,license_number\n{rows}".encode(), "builder",
               key="id", rollback_on_error=False)


def left_by(session: Session, entity_id: int) -> dict[str, Any]:
    """What a created entity leaves, without what differs between any two (ids, times)."""
    session.rollback()
    e = session.get(Entity, entity_id)
    [created] = session.scalars(select(StatusChange).where(StatusChange.entity_id == entity_id))
    [event] = session.scalars(select(OutboxEvent).where(OutboxEvent.entity_id == entity_id))
    clocks = session.scalars(select(SlaClock).where(SlaClock.entity_id == entity_id))
    sealed = e.data.get("customer_email")
    data = {k: v for k, v in e.data.items() if k != "customer_email"}
    return {
        "entity": (e.type, e.status, e.version, e.parent_id, data,
                   e.created_at == e.updated_at == e.status_changed_at),
        "sealed": sealed is None or (sealed.startswith("enc:") and "rosa" not in sealed),
        "history": (created.old_status, created.new_status, created.action, created.actor,
                    created.source, created.meta["data"]["after"].keys()),
        "event": (event.event_type, event.state, {k: v for k, v in event.payload.items()
                                                  if k not in ("entity_id", "correlation_id")}),
        "clocks": [(c.name, c.state, c.goal_hours, c.due_at) for c in clocks],
    }


def test_imported_tickets_leave_what_tickets_created_one_by_one_leave(db, support):
    manager, session = db
    one_by_one = [manager.create_entity(
        session, support, source="import", type="ticket", name=name,
        **({"status": status} if status else {}),
        data={k: v for k, v in (("priority", priority), ("customer_name", customer),
                                ("customer_email", email), ("assignee", assignee)) if v}).id
        for name, status, priority, customer, email, assignee in TICKETS]
    raw = "name,status,priority,customer_name,customer_email,assignee\n" + "".join(
        ",".join(row) + "\n" for row in TICKETS)

    result = run(session, manager, support, raw.encode(), "ticket")

    assert (result.created, result.failure_details) == (2, {})
    assert [left_by(session, i) for i in result.successful_ids] == [
        left_by(session, i) for i in one_by_one]
    assert counts.drift(session) == []
    assert kept_counts(session)[("ticket", "NEW")] == 2


def test_a_unique_value_an_update_gives_up_may_be_taken_by_a_create_below_it(db, support):
    manager, session = db
    oak = manager.create_entity(session, support, type="builder", name="Oak",
                                data={"license_number": "L-1"}).id

    result = by_id(session, manager, support, f"{oak},Oak,L-2\n,Elm,L-1\n,Ash,L-2\n")

    assert (result.updated, result.created) == (1, 1)
    assert list(result.failure_details) == [4]
    assert "License number must be unique" in result.failure_details[4]
    session.rollback()
    held = dict(session.execute(select(Entity.name, Entity.data["license_number"].as_string())
                                .where(Entity.type == "builder")).all())
    assert held == {"Oak": "L-2", "Elm": "L-1"}


def test_a_value_a_create_takes_refuses_an_update_below_it(db, support):
    manager, session = db
    oak = manager.create_entity(session, support, type="builder", name="Oak",
                                data={"license_number": "L-1"}).id

    result = by_id(session, manager, support, f",Elm,L-9\n{oak},Oak,L-9\n")

    assert (result.created, list(result.failure_details)) == (1, [3])
    assert "must be unique" in result.failure_details[3]


def test_a_row_failing_twice_reports_what_a_single_create_reports(db, support):
    manager, session = db
    raw = b"name,parent_id,price\n12 Elm Lane,999999,-5\n"
    with pytest.raises(InvalidInput) as single:
        manager.create_entity(session, support, type="property", name="12 Elm Lane",
                              parent_id=999999, data={"price": "-5"})

    result = run(session, manager, support, raw, "property", rollback_on_error=False)

    assert result.failure_details == {2: f"row 2: {importing.explain(single.value)}"}
    assert "Price" in result.failure_details[2]


def test_a_refused_row_takes_no_unique_value_from_the_rows_below(db, support):
    manager, session = db
    raw = b"name,status,email\nAnn,gone,ann@example.com\nAnn,,ann@example.com\n"

    result = run(session, manager, support, raw, "user_account", rollback_on_error=False)

    assert (result.created, list(result.failure_details)) == (1, [2])
    assert "no state 'gone'" in result.failure_details[2]


def test_an_imported_sensitive_value_is_sealed_at_rest(db, support):
    manager, session = db
    raw = b"name,phone\nRita,+1 415 555 0815\n"

    result = run(session, manager, support, raw, "sales_rep")

    session.rollback()
    stored = session.scalar(text("SELECT CAST(data AS TEXT) FROM entities WHERE id = :i"),
                            {"i": result.successful_ids[0]})
    assert "0815" not in stored and "enc:" in stored
    assert manager.keyring.unseal(manager.workflow(session, "sales_rep").fields, session.get(
        Entity, result.successful_ids[0]).data)["phone"] == "+14155550815"

"""SLA clocks (CONTRACT §8) kept by the write path, on SQLite and PostgreSQL, with a clock the
test moves: a CRITICAL ticket breaches after 4 h of open time and not while ONHOLD, goals
follow the priority and the workflow, and the alerts are raised exactly once."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_entity, make_manager
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.events import delivery, notifications
from webapp.core.lists import listing, search, sla_filters
from webapp.core.timing import sla_alerts, slas
from webapp.core.workflows import packs, registry
from webapp.models import Entity, OutboxEvent
from webapp.models.sla import SlaClock

HOUR = 3600


class Db:
    def __init__(self, manager: StateManager, session: Session, factory: sessionmaker) -> None:
        self.manager, self.session, self.factory = manager, session, factory


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, clock, admin) -> Db:
    if request.param == "sqlite":
        factory = request.getfixturevalue("session_factory")
        session = request.getfixturevalue("session")
    else:
        factory = sessionmaker(request.getfixturevalue("pg_engine"))
        session = request.getfixturevalue("pg_session")
    return Db(make_manager(session, clock, admin), session, factory)


def _ticket(db: Db, actor, priority: str = "CRITICAL", **fields: Any) -> Entity:
    return make_entity(db.manager, db.session, actor, "ticket",
                       data={"priority": priority, "customer_email": "pat@example.com"}, **fields)


def _sla(db: Db, entity_id: int) -> dict[str, Any]:
    entity = db.manager.get(db.session, entity_id)
    [reading] = slas.readings(db.session, db.manager.workflows.all(db.session), [entity],
                              db.manager.clock())[entity_id]
    db.session.rollback()
    return reading


def _move(db: Db, actor, entity_id: int, to: str) -> None:
    db.manager.transition(db.session, actor, entity_id, to, reason="testing the clock")


def _listed(db: Db, sla: str, sort: str = "id") -> list[int]:
    f = listing.filters_from_params({"type": "ticket", "sla": sla}, db.manager.clock())
    found = listing.browse(db.session, search.Vocabulary(), f, listing.Sort.parse(sort))
    db.session.rollback()
    return [e.id for e in found.rows]


def test_a_critical_ticket_breaches_after_four_hours_open_but_not_while_on_hold(
        db, support, clock):
    ticket = _ticket(db, support).id
    start = clock()
    assert _sla(db, ticket) == {"name": "resolution", "goal_hours": 4, "elapsed_seconds": 0,
                                "remaining_seconds": 4 * HOUR, "paused": False,
                                "breached": False, "due_at": (start + timedelta(hours=4)).isoformat()}
    clock.advance(hours=1)
    _move(db, support, ticket, "OPEN")  # still running: no start, pause or stop state
    clock.advance(hours=1)
    _move(db, support, ticket, "ONHOLD")
    clock.advance(hours=10)  # ten hours on hold count for nothing

    held = _sla(db, ticket)
    assert held["paused"] and not held["breached"] and held["due_at"] is None
    assert (held["elapsed_seconds"], held["remaining_seconds"]) == (2 * HOUR, 2 * HOUR)
    assert _listed(db, "breached") == []
    assert _listed(db, "at_risk") == []

    _move(db, support, ticket, "INPROGRESS")
    resumed = clock()
    assert _sla(db, ticket)["due_at"] == (resumed + timedelta(hours=2)).isoformat()
    clock.advance(hours=1, minutes=30)  # 3 h 30 of 4 h: at risk
    assert _listed(db, "at_risk") == [ticket]
    clock.advance(minutes=29)
    assert not _sla(db, ticket)["breached"]
    clock.advance(minutes=2)

    late = _sla(db, ticket)
    assert late["breached"] and not late["paused"]
    assert (late["elapsed_seconds"], late["remaining_seconds"]) == (4 * HOUR + 60, 0)
    assert _listed(db, "breached") == [ticket]
    assert _listed(db, "at_risk") == []


def test_resolving_stops_the_clock_and_a_resolved_ticket_stays_as_it_was(db, support, clock):
    ticket = _ticket(db, support, "HIGH").id
    for to in ("OPEN", "INPROGRESS"):
        clock.advance(hours=1)
        _move(db, support, ticket, to)
    clock.advance(hours=1)
    _move(db, support, ticket, "RESOLVED")
    clock.advance(days=3)

    done = _sla(db, ticket)
    assert (done["elapsed_seconds"], done["breached"], done["paused"]) == (3 * HOUR, False, False)
    assert done["due_at"] is None


def test_a_priority_change_chooses_the_goal_again(db, support, clock):
    ticket = _ticket(db, support, "LOW")
    created = clock()
    assert _sla(db, ticket.id)["goal_hours"] == 72
    clock.advance(hours=3)

    db.manager.update_entity(db.session, support, ticket.id, version=ticket.version,
                             data={"priority": "CRITICAL"})

    now = _sla(db, ticket.id)
    assert (now["goal_hours"], now["elapsed_seconds"]) == (4, 3 * HOUR)
    assert now["due_at"] == (created + timedelta(hours=4)).isoformat()
    clock.advance(hours=1, seconds=1)
    assert _listed(db, "breached") == [ticket.id]


def test_a_goal_edited_in_the_workflow_moves_due_times_and_keeps_the_time_counted(
        db, support, admin, clock):
    high = _ticket(db, support, "HIGH").id
    low = _ticket(db, support, "LOW").id
    clock.advance(hours=2)
    _move(db, support, high, "OPEN")
    _move(db, support, high, "ONHOLD")
    _save_goals(db, admin, clock, {"HIGH": 1.5})

    held = _sla(db, high)
    assert (held["goal_hours"], held["elapsed_seconds"], held["breached"]) == (1.5, 2 * HOUR, True)
    assert _sla(db, low)["due_at"] == (clock() + timedelta(hours=70)).isoformat()  # unchanged
    _save_goals(db, admin, clock, {"HIGH": 10})
    clock.advance(hours=1)
    _move(db, support, high, "INPROGRESS")
    assert _sla(db, high)["due_at"] == (clock() + timedelta(hours=8)).isoformat()
    assert not _sla(db, high)["breached"]


def _save_goals(db: Db, admin, clock, hours: dict[str, float]) -> None:
    doc = registry.export_document(db.session, db.manager.workflows, "ticket")
    goals = doc["types"]["ticket"]["slas"][0]["goals"]
    for goal in goals:
        if goal.get("when", {}).get("data.priority") in hours:
            goal["hours"] = hours[goal["when"]["data.priority"]]
    with write_transaction(db.session):
        packs.import_document(db.session, db.manager.workflows, doc, admin, clock())


def test_lists_sort_by_due_time_soonest_first_and_clockless_last(db, support, clock):
    low, critical, high = (_ticket(db, support, p).id for p in ("LOW", "CRITICAL", "HIGH"))
    _move(db, support, high, "OPEN")
    _move(db, support, high, "ONHOLD")  # paused: no due time
    medium = _ticket(db, support, "MEDIUM").id

    assert _listed(db, "", "sla_due") == [critical, medium, low, high]
    assert _listed(db, "", "-sla_due") == [high, low, medium, critical]


def test_alerts_are_raised_once_at_risk_and_once_breached(db, support, clock):
    ticket = _ticket(db, support).id
    clock.advance(hours=3, minutes=12)  # 80 %
    assert sla_alerts.raise_due(db.session, db.manager, clock()) == {"at_risk": 1, "breached": 0}
    assert sla_alerts.raise_due(db.session, db.manager, clock()) == {"at_risk": 0, "breached": 0}
    clock.advance(hours=1)
    assert sla_alerts.raise_due(db.session, db.manager, clock()) == {"at_risk": 0, "breached": 1}
    assert sla_alerts.raise_due(db.session, db.manager, clock()) == {"at_risk": 0, "breached": 0}

    events = db.session.execute(select(OutboxEvent.event_type, OutboxEvent.payload)
                                .where(OutboxEvent.entity_id == ticket,
                                       OutboxEvent.event_type.like("Sla%"))
                                .order_by(OutboxEvent.id)).all()
    assert [e for e, _ in events] == ["SlaAtRisk", "SlaBreached"]
    assert "used 80 % of its resolution SLA (4 h goal)" in events[0][1]["notification"]
    assert "breached its resolution SLA (4 h goal)" in events[1][1]["notification"]


def test_a_clock_past_both_marks_raises_only_its_breach(db, support, clock):
    _ticket(db, support)
    clock.advance(hours=5)
    assert sla_alerts.raise_due(db.session, db.manager, clock()) == {"at_risk": 0, "breached": 1}
    assert sla_alerts.raise_due(db.session, db.manager, clock()) == {"at_risk": 0, "breached": 0}


def test_two_raisers_at_once_raise_each_breach_exactly_once(db, support, clock):
    ids = [_ticket(db, support).id for _ in range(23)]
    clock.advance(hours=5)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def raiser() -> None:
        try:
            with db.factory() as own:
                barrier.wait()
                results.append(sla_alerts.raise_due(own, db.manager, clock(), chunk=4))
        except Exception as exc:  # noqa: BLE001 -- any error fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=raiser) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(r["breached"] for r in results) == len(ids)
    db.session.rollback()
    raised = db.session.execute(select(OutboxEvent.entity_id, func.count())
                                .where(OutboxEvent.event_type == "SlaBreached")
                                .group_by(OutboxEvent.entity_id)).all()
    assert sorted(raised) == [(i, 1) for i in ids]
    assert sla_alerts.raise_due(db.session, db.manager, clock()) == {"at_risk": 0, "breached": 0}


def test_types_without_slas_get_no_clocks(db, support):
    builder = make_entity(db.manager, db.session, support, "builder")
    assert slas.readings(db.session, db.manager.workflows.all(db.session), [builder],
                         db.manager.clock()) == {builder.id: []}
    assert db.session.scalar(select(func.count()).select_from(SlaClock)) == 0


@pytest.mark.parametrize("walk_from", [0, sla_filters.WALK_FROM])
def test_the_filters_find_the_same_walking_or_collecting_and_sorted_by_due(
        db, support, clock, monkeypatch, walk_from):
    monkeypatch.setattr(sla_filters, "WALK_FROM", walk_from)  # 0: every list walks (EXISTS)
    critical, high, low = (_ticket(db, support, p).id for p in ("CRITICAL", "HIGH", "LOW"))
    other = _ticket(db, support, "CRITICAL").id
    clock.advance(hours=7)  # CRITICAL breached, HIGH at risk, LOW neither

    assert _listed(db, "breached") == [critical, other]
    assert _listed(db, "breached", "sla_due") == [critical, other]
    assert _listed(db, "at_risk", "-sla_due") == [high]
    assert low not in _listed(db, "at_risk")


def test_a_breach_rings_the_bell_once_with_its_own_sentence(db, support, clock):
    _ticket(db, support, name="Boiler down")
    clock.advance(hours=4, minutes=1)
    sla_alerts.raise_due(db.session, db.manager, clock())
    delivery.deliver_all(db.session, db.manager, clock)
    sla_alerts.raise_due(db.session, db.manager, clock())
    delivery.deliver_all(db.session, db.manager, clock)

    [bell] = [n.message for n in notifications.feed(db.session) if n.event_type == "SlaBreached"]
    assert bell.startswith("Ticket 'Boiler down' breached its resolution SLA (4 h goal) at ")

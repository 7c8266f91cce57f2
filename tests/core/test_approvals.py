"""Second-person approval in the core (CONTRACT §9), on SQLite and PostgreSQL: asking changes
nothing, only the named roles decide and never the requester, approving re-plans through the
StateManager, a refused re-plan fails the request with nothing written, requests expire."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import count_rows, make_entity, make_manager, make_realestate
from webapp.core.approvals import deciding, requests
from webapp.core.approvals.records import ApprovalClosed, ApprovalPending, SelfApproval
from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import (
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
    RuleViolation,
)
from webapp.core.bulk.operations import BulkRequest
from webapp.models import Approval, AuditEntry, Entity, OutboxEvent, StatusChange

SUPPORT = Actor("sam", "support")
OTHER_ADMIN = Actor("olga", "admin")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


@pytest.fixture
def world(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        made = make_realestate(sm, session, admin, properties=3, reps=1)
        estate = Estate(made.builder.id, [p.id for p in made.properties])
    return sm, estate


@dataclass
class Estate:
    builder: int
    properties: list[int]


def _status(database, entity_id: int) -> str:
    with database() as s:
        return s.scalar(select(Entity.status).where(Entity.id == entity_id))


def test_asking_records_a_pending_request_and_changes_nothing(database, world):
    sm, estate = world
    with database() as session:
        before = count_rows(session)
        a = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business",
                         reason="closing")
        assert (a.status, a.kind, a.requested_by, a.roles) == ("pending", "entity", "sam", ["admin"])
        assert (a.from_status, a.to_status, a.action) == ("active", "out_of_business", "close")
        # the cascade preview: three properties off market, the rep inactive
        assert a.preview["cascade_total"] == 4
        assert {r["new_status"] for r in a.preview["cascade"]} == {"off_market", "inactive"}
        after = count_rows(session)
    assert after["entities"] == before["entities"]
    assert after["status_changes"] == before["status_changes"]
    assert _status(database, estate.builder) == "active"
    assert all(_status(database, p) == "available" for p in estate.properties)
    with database() as s:
        assert s.scalar(select(OutboxEvent.event_type).order_by(OutboxEvent.id.desc())) \
            == "ApprovalRequested"
        assert s.scalar(select(AuditEntry.event_type).order_by(AuditEntry.id.desc())) \
            == "approval.request"


def test_a_second_request_for_the_same_entity_is_refused(database, world):
    sm, estate = world
    with database() as session:
        requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business")
        with pytest.raises(ApprovalPending) as second:
            requests.ask(sm, session, OTHER_ADMIN, estate.builder, "out_of_business")
    assert second.value.status == 409


def test_a_move_without_approval_happens_at_once(database, world):
    sm, estate = world
    with database() as session:
        done = requests.transition_or_ask(sm, session, SUPPORT, estate.builder, "suspended",
                                          reason=None, version=None, source="api")
    assert not isinstance(done, Approval)
    assert _status(database, estate.builder) == "suspended"


def test_the_requester_never_decides_and_other_roles_do_not_either(database, world, admin):
    sm, estate = world
    with database() as session:
        a = requests.ask(sm, session, admin, estate.builder, "out_of_business")
        with pytest.raises(SelfApproval) as own:
            deciding.approve(sm, session, admin, a.id)
        with pytest.raises(PermissionDenied):
            deciding.approve(sm, session, SUPPORT, a.id)
    assert (own.value.status, own.value.code) == (403, "self_approval")
    assert _status(database, estate.builder) == "active"


def test_approving_applies_as_the_requesters_move_with_source_approval(database, world):
    sm, estate = world
    with database() as session:
        a = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business", reason="gone")
        aid = a.id
        done = deciding.approve(sm, session, OTHER_ADMIN, aid, "checked")
        assert (done.status, done.decided_by, done.decision_comment) == ("approved", "olga", "checked")
    assert _status(database, estate.builder) == "out_of_business"
    assert all(_status(database, p) == "off_market" for p in estate.properties)
    with database() as s:
        row = s.scalars(select(StatusChange).where(StatusChange.entity_id == estate.builder)
                        .order_by(StatusChange.id.desc())).first()
        assert (row.source, row.actor, row.reason) == ("approval", "sam", "gone")
        assert row.meta["requested_by"] == "sam" and row.meta["approved_by"] == "olga"
        assert s.scalar(select(OutboxEvent.event_type).order_by(OutboxEvent.id.desc())) \
            == "ApprovalApproved"
        decided = s.scalars(select(AuditEntry).where(AuditEntry.event_type == "approval.approve")).one()
        assert decided.actor == "olga" and decided.diff["extra"]["requested_by"] == "sam"
        assert audit.verify(s).ok
    with database() as session, pytest.raises(ApprovalClosed):
        deciding.approve(sm, session, OTHER_ADMIN, aid)


def test_a_refused_replan_fails_the_request_and_writes_nothing(database, world, admin):
    sm, estate = world
    with database() as session:
        a = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business")
        aid = a.id
        sm.transition(session, admin, estate.properties[0], "under_contract")
        before = count_rows(session)
        with pytest.raises(RuleViolation) as refused:
            deciding.approve(sm, session, OTHER_ADMIN, a.id)
        after = count_rows(session)
    assert refused.value.status == 422
    assert refused.value.extra["approval"]["status"] == "failed"
    assert after["status_changes"] == before["status_changes"]
    assert after["entities"] == before["entities"]
    assert _status(database, estate.builder) == "active"
    assert [_status(database, p) for p in estate.properties[1:]] == ["available"] * 2
    with database() as s:
        failed = s.get(Approval, aid)
        assert failed.status == "failed" and failed.outcome["reasons"]
        assert s.scalar(select(OutboxEvent.event_type).order_by(OutboxEvent.id.desc())) \
            == "ApprovalFailed"
        assert s.scalar(select(AuditEntry.event_type).order_by(AuditEntry.id.desc())) \
            == "approval.fail"


def test_rejecting_needs_a_comment_and_changes_nothing(database, world):
    sm, estate = world
    with database() as session:
        a = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business")
        with pytest.raises(InvalidInput) as bare:
            deciding.reject(sm, session, OTHER_ADMIN, a.id, "  ")
        assert "comment" in bare.value.fields
        done = deciding.reject(sm, session, OTHER_ADMIN, a.id, "not yet")
        assert (done.status, done.decision_comment) == ("rejected", "not yet")
    assert _status(database, estate.builder) == "active"


def test_a_bulk_run_asks_once_and_approving_moves_every_item(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        rows = [make_entity(sm, session, admin, "attendance") for _ in range(3)]
        ids = tuple(r.id for r in rows)
        assert requests.bulk_roles(sm, session, ids, "ADJUSTED") == ("admin",)
        a = requests.ask_bulk(sm, session, SUPPORT, BulkRequest(
            "transition", ids, target_state="ADJUSTED", comment="late shift"))
        assert (a.kind, a.ids, a.status) == ("bulk", list(ids), "pending")
        assert a.preview["successful_items"] == 3 and len(a.preview["rows"]) == 3
        with pytest.raises(ApprovalPending):
            requests.ask(sm, session, OTHER_ADMIN, ids[0], "ADJUSTED")
        deciding.approve(sm, session, OTHER_ADMIN, a.id)
    assert [_status(database, i) for i in ids] == ["ADJUSTED"] * 3
    with database() as s:
        sources = set(s.scalars(select(StatusChange.source).where(
            StatusChange.entity_id.in_(ids), StatusChange.new_status == "ADJUSTED")))
        assert sources == {"approval"}


def test_pending_requests_expire_after_the_setting(database, world, clock):
    sm, estate = world
    with database() as session:
        a = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business")
        assert a.expires_at == a.created_at + __import__("datetime").timedelta(hours=72)
        clock.advance(hours=71)
        assert deciding.expire_due(session, clock()) == 0
        clock.advance(hours=2)
        assert deciding.expire_due(session, clock()) == 1
        assert deciding.expire_due(session, clock()) == 0
        assert session.get(Approval, a.id).status == "expired"
        with pytest.raises(ApprovalClosed):
            deciding.approve(sm, session, OTHER_ADMIN, a.id)
        again = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business")
        assert again.status == "pending"


def test_an_overdue_request_cannot_be_approved_before_the_workers_expire_it(database, world, clock):
    sm, estate = world
    with database() as session:
        a = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business")
        clock.advance(hours=73)
        with pytest.raises(ApprovalClosed):
            deciding.approve(sm, session, OTHER_ADMIN, a.id)
        assert session.get(Approval, a.id).status == "expired"
    assert _status(database, estate.builder) == "active"


def test_two_approvers_at_once_apply_the_change_once(database, world):
    sm, estate = world
    with database() as session:
        aid = requests.ask(sm, session, SUPPORT, estate.builder, "out_of_business").id
    approvers = [Actor(f"admin{i}", "admin") for i in range(4)]
    barrier = threading.Barrier(len(approvers))
    won, lost, errors = [], [], []

    def press(actor: Actor) -> None:
        with database() as session:
            barrier.wait()
            try:
                won.append(deciding.approve(sm, session, actor, aid).decided_by)
            except ApprovalClosed:
                lost.append(actor.name)
            except Exception as exc:  # noqa: BLE001 -- any other answer fails the test
                errors.append(exc)

    threads = [threading.Thread(target=press, args=(x,)) for x in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(won) == 1 and len(lost) == 3
    with database() as s:
        moves = s.scalars(select(StatusChange).where(
            StatusChange.entity_id == estate.builder, StatusChange.source == "approval")).all()
        assert len(moves) == 1
        assert s.get(Approval, aid).decided_by == won[0]


def test_an_all_or_nothing_bulk_request_fails_whole_when_one_item_can_no_longer_move(
        database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        ids = tuple(make_entity(sm, session, admin, "attendance").id for _ in range(3))
        aid = requests.ask_bulk(sm, session, SUPPORT, BulkRequest(
            "transition", ids, target_state="ADJUSTED")).id
        sm.transition(session, admin, ids[1], "REJECTED", reason="no badge scan")
        sm.transition(session, admin, ids[1], "LOCKED")
        with pytest.raises(InvalidTransition) as refused:
            deciding.approve(sm, session, OTHER_ADMIN, aid)
        assert refused.value.status == 422
        assert any(f"#{ids[1]}" in m for m in refused.value.messages)
        assert session.get(Approval, aid).status == "failed"
    assert [_status(database, i) for i in ids] == ["PENDING", "LOCKED", "PENDING"]

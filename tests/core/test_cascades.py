"""Cascades and derived statuses of the realestate pack, exactly as CONTRACT.md §5 states them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import count_rows, make_realestate
from webapp.core.base.transactions import write_transaction
from webapp.core.changes import writer as changes
from webapp.models import AuditEntry, StatusChange


def _set(manager, session, actor, clock, **values):
    with write_transaction(session):
        manager.settings.apply(session, manager.settings.validate(session, values), actor.name,
                               clock())


def _statuses(manager, session, entities):
    session.rollback()
    return [manager.get(session, e.id).status for e in entities]


def _sell(manager, session, actor, prop):
    manager.transition(session, actor, prop.id, "under_contract")
    return manager.transition(session, actor, prop.id, "sold")


def _history(session, entity_id):
    return session.scalars(select(StatusChange).where(StatusChange.entity_id == entity_id)
                           .order_by(StatusChange.id)).all()


@pytest.fixture
def estate(manager, session, support):
    """A builder; a community of 6 properties (sold, under contract, available, pending,
    reserved, off market); 3 sales reps (two active, one inactive)."""
    estate = make_realestate(manager, session, support, properties=6, reps=3)
    sold, contract, _available, pending, reserved, off = estate.properties
    _sell(manager, session, support, sold)
    manager.transition(session, support, contract.id, "under_contract")
    manager.transition(session, support, pending.id, "pending")
    manager.transition(session, support, reserved.id, "reserved")
    manager.transition(session, support, off.id, "off_market")
    manager.transition(session, support, estate.reps[2].id, "inactive")
    manager.transition(session, support, contract.id, "available")  # the deal fell through
    return estate


def test_out_of_business_takes_listed_properties_off_market_and_reps_inactive(
        manager, session, support, estate):
    outcome = manager.transition(session, support, estate.builder.id, "out_of_business")
    assert outcome.entity.status == "out_of_business"
    assert _statuses(manager, session, estate.properties) == [
        "sold", "off_market", "off_market", "off_market", "off_market", "off_market"]
    assert _statuses(manager, session, estate.reps) == ["inactive", "inactive", "inactive"]
    moved = [p.id for p in estate.properties[1:5]] + [r.id for r in estate.reps[:2]]
    assert sorted(outcome.cascaded) == sorted(moved)


def test_every_cascaded_change_has_a_cascade_history_row_with_the_same_correlation_id(
        manager, session, support, estate):
    outcome = manager.transition(session, support, estate.builder.id, "out_of_business",
                                 reason="closed down")
    rows = session.scalars(select(StatusChange).where(
        StatusChange.correlation_id == outcome.correlation_id).order_by(StatusChange.id)).all()
    assert (rows[0].entity_id, rows[0].source) == (estate.builder.id, "api")
    cascaded = rows[1:]
    assert sorted(r.entity_id for r in cascaded) == sorted(outcome.cascaded)
    assert {r.source for r in cascaded} == {"cascade"}
    builder = estate.builder.name
    assert {r.reason for r in cascaded} == {f"builder {builder!r} went out_of_business"}
    assert {(r.old_status, r.new_status, r.action) for r in cascaded if r.entity_id
            in {p.id for p in estate.properties}} == {
        ("available", "off_market", "withdraw"), ("pending", "off_market", "withdraw"),
        ("reserved", "off_market", "withdraw")}


def test_properties_sold_or_already_off_market_are_left_alone(manager, session, support, estate):
    sold, off = estate.properties[0], estate.properties[5]
    rows_before = {p.id: len(_history(session, p.id)) for p in (sold, off)}
    manager.transition(session, support, estate.builder.id, "out_of_business")
    assert {p.id: len(_history(session, p.id)) for p in (sold, off)} == rows_before


def test_the_cascade_stays_within_the_builder(manager, session, support, estate):
    other = make_realestate(manager, session, support, properties=2, reps=1)
    manager.transition(session, support, estate.builder.id, "out_of_business")
    assert _statuses(manager, session, [*other.properties, *other.reps, other.builder]) == [
        "available", "available", "active", "active"]


def test_the_change_and_its_cascade_are_written_together_with_one_audit_row(
        manager, session, support, estate):
    before = count_rows(session)
    outcome = manager.transition(session, support, estate.builder.id, "out_of_business")
    after = count_rows(session)
    moved = 1 + len(outcome.cascaded)
    assert after["status_changes"] - before["status_changes"] == moved
    assert after["outbox_events"] - before["outbox_events"] == moved
    assert after["audit_entries"] - before["audit_entries"] == 1
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.correlation_id == outcome.correlation_id
    assert sorted(entry.diff["extra"]["cascaded"]) == sorted(outcome.cascaded)


def test_when_the_cascade_fails_halfway_nothing_of_the_command_is_written(
        manager, session, support, estate, monkeypatch):
    real_write = changes.write

    def failing_on_cascade(session_, wave, *args, **kwargs):
        if any(c.source == "cascade" for c in wave):
            raise RuntimeError("disk full")
        return real_write(session_, wave, *args, **kwargs)

    monkeypatch.setattr(changes, "write", failing_on_cascade)
    before = count_rows(session)
    statuses = _statuses(manager, session, [estate.builder, *estate.properties, *estate.reps])
    with pytest.raises(RuntimeError, match="disk full"):
        manager.transition(session, support, estate.builder.id, "out_of_business")
    assert count_rows(session) == before
    assert _statuses(manager, session, [estate.builder, *estate.properties, *estate.reps]) == statuses


# --------------------------------------------------------------- community derived status


def test_a_community_stays_active_while_more_than_ten_properties_are_available(
        manager, session, support):
    estate = make_realestate(manager, session, support, properties=12, reps=0)
    outcome = _sell(manager, session, support, estate.properties[0])  # 11 left
    assert outcome.cascaded == []
    assert _statuses(manager, session, [estate.community]) == ["active"]


def test_a_community_with_ten_or_fewer_available_becomes_limited_availability(
        manager, session, support):
    estate = make_realestate(manager, session, support, properties=12, reps=0)
    _sell(manager, session, support, estate.properties[0])
    outcome = _sell(manager, session, support, estate.properties[1])  # 10 left
    assert outcome.cascaded == [estate.community.id]
    assert _statuses(manager, session, [estate.community]) == ["limited_availability"]
    row = _history(session, estate.community.id)[-1]
    assert (row.old_status, row.new_status, row.source, row.reason) == (
        "active", "limited_availability", "cascade", "10 properties left available")
    assert row.correlation_id == outcome.correlation_id


def test_a_community_whose_last_available_property_sells_is_sold_out(manager, session, support):
    estate = make_realestate(manager, session, support, properties=3, reps=0)
    outcomes = [_sell(manager, session, support, p) for p in estate.properties]
    # 3 properties: the first sale already leaves 2 (<= 10), the last leaves none.
    assert [o.cascaded for o in outcomes] == [[estate.community.id], [], [estate.community.id]]
    assert [(r.new_status, r.source) for r in _history(session, estate.community.id)] == [
        ("active", "api"), ("limited_availability", "cascade"), ("sold_out", "cascade")]
    assert _history(session, estate.community.id)[-1].reason == "0 properties left available"


def test_properties_under_contract_do_not_count_as_available(manager, session, support):
    estate = make_realestate(manager, session, support, properties=12, reps=0)
    for p in estate.properties[1:]:
        manager.transition(session, support, p.id, "under_contract")
    _sell(manager, session, support, estate.properties[0])
    assert _statuses(manager, session, [estate.community]) == ["sold_out"]


def test_the_threshold_setting_decides_when_availability_is_limited(
        manager, session, support, admin, clock):
    _set(manager, session, admin, clock, community_limited_availability_threshold=3)
    estate = make_realestate(manager, session, support, properties=6, reps=0)
    _sell(manager, session, support, estate.properties[0])  # 5 left
    _sell(manager, session, support, estate.properties[1])  # 4 left
    assert _statuses(manager, session, [estate.community]) == ["active"]
    _sell(manager, session, support, estate.properties[2])  # 3 left
    assert _statuses(manager, session, [estate.community]) == ["limited_availability"]


def test_an_inactive_community_keeps_its_status_when_properties_sell(manager, session, support):
    estate = make_realestate(manager, session, support, properties=2, reps=0)
    manager.transition(session, support, estate.community.id, "inactive")
    for p in estate.properties:
        _sell(manager, session, support, p)
    assert _statuses(manager, session, [estate.community]) == ["inactive"]


def test_a_community_set_sold_out_takes_its_available_properties_off_market(
        manager, session, support):
    estate = make_realestate(manager, session, support, properties=3, reps=0)
    manager.transition(session, support, estate.properties[0].id, "reserved")
    outcome = manager.transition(session, support, estate.community.id, "sold_out")
    assert sorted(outcome.cascaded) == sorted(p.id for p in estate.properties[1:])
    assert _statuses(manager, session, estate.properties) == [
        "reserved", "off_market", "off_market"]


def test_a_builder_merging_sets_off_no_cascade(manager, session, support):
    estate = make_realestate(manager, session, support, properties=2, reps=1)
    outcome = manager.transition(session, support, estate.builder.id, "merged")
    assert outcome.cascaded == []
    assert _statuses(manager, session, [*estate.properties, *estate.reps]) == [
        "available", "available", "active"]


def test_cascaded_entities_are_reported_to_their_subscribers(manager, session, support, estate):
    seen = []
    manager.on_commit("sales_rep", seen.append)
    outcome = manager.transition(session, support, estate.builder.id, "out_of_business")
    assert sorted(e["entity_id"] for e in seen) == sorted(r.id for r in estate.reps[:2])
    assert {(e["source"], e["new_status"], e["correlation_id"]) for e in seen} == {
        ("cascade", "inactive", outcome.correlation_id)}


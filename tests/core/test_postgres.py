"""The issue's realestate scenario and bad input on PostgreSQL (row locks, jsonb, advisory lock)."""
from __future__ import annotations

import pytest

from tests.factories import count_rows, make_entity, make_manager, make_realestate
from webapp.core.audit import chain as audit
from webapp.core.base.errors import InvalidInput, RuleViolation
from webapp.core.changes import history
from webapp.models import Entity

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_manager(pg_session, clock, admin):
    return make_manager(pg_session, clock, admin)


def test_the_realestate_scenario_works_end_to_end_on_postgresql(
        pg_manager, pg_session, support, clock):
    manager, session = pg_manager, pg_session
    estate = make_realestate(manager, session, support, properties=4, reps=2)
    sale = estate.properties[0]
    manager.transition(session, support, sale.id, "under_contract")
    with pytest.raises(RuleViolation, match="1 property under_contract"):
        manager.transition(session, support, estate.builder.id, "out_of_business")
    manager.transition(session, support, sale.id, "sold")
    before_closing = clock()
    clock.advance(days=1)
    outcome = manager.transition(session, support, estate.builder.id, "out_of_business")
    session.rollback()
    assert sorted(outcome.cascaded) == sorted(
        [p.id for p in estate.properties[1:]] + [r.id for r in estate.reps])
    assert {session.get(Entity, i).status for i in outcome.cascaded} == {"off_market", "inactive"}
    prop = estate.properties[1]
    assert history.state_at(session, prop.id, before_closing)["status"] == "available"
    change = history.page(session, prop.id, limit=1)[0][0]
    assert change.source == "cascade"
    reverted = manager.revert(session, support, prop.id, change_id=change.id, reason="relist")
    assert reverted.entity.status == "available"
    assert audit.verify(session).ok


@pytest.mark.parametrize("fields", [
    {"name": "Acme\x00Homes"},
    {"name": "Acme", "data": {"note": "a\x00b"}},
    {"name": "Acme", "data": {"note\x00": 1}},
    {"name": "Acme", "data": {"score": float("nan")}},
])
def test_input_postgresql_cannot_store_is_bad_input_not_a_crash(
        pg_manager, pg_session, support, fields):
    before = count_rows(pg_session)
    with pytest.raises(InvalidInput):
        make_entity(pg_manager, pg_session, support, "builder", **fields)
    assert count_rows(pg_session) == before

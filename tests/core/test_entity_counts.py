"""Entity counts per (type, status) stay exact through every way entities come, move or go,
on SQLite and PostgreSQL, also with many writers at once; drift is found and repaired."""
from __future__ import annotations

import random
import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import (
    insert_entities,
    kept_counts,
    make_entity,
    make_manager,
    make_realestate,
)
from webapp.core.base.errors import StatekeeperError
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes import counts
from webapp.core.demo import seed
from webapp.core.sweeps.sweep import sweep
from webapp.models import Entity, StatusChange


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    """Sessions on a fresh database: the test's SQLite file, or its own PostgreSQL database."""
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


def recounted(session: Session) -> dict[tuple[str, str], int]:
    session.rollback()
    return {(t, s): n for t, s, n in session.execute(
        select(Entity.type, Entity.status, func.count()).group_by(Entity.type, Entity.status))}


def assert_exact(session: Session) -> None:
    assert kept_counts(session) == recounted(session)
    assert counts.drift(session) == []


def test_every_command_keeps_the_counts_exact(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        estate = make_realestate(sm, session, admin, properties=6, reps=2)
        assert kept_counts(session) == {("builder", "active"): 1, ("community", "active"): 1,
                                        ("property", "available"): 6, ("sales_rep", "active"): 2}
        first, second, *rest = [p.id for p in estate.properties]

        sm.transition(session, admin, first, "pending")
        assert kept_counts(session)[("property", "pending")] == 1
        sm.transition(session, admin, second, "reserved")
        change_id = session.scalar(select(func.max(StatusChange.id))
                                   .where(StatusChange.entity_id == second))
        sm.revert(session, admin, second, change_id=change_id, reason="oops")
        assert ("property", "reserved") not in kept_counts(session)
        for state in ("under_contract", "sold"):  # sold: the per-item bulk below refuses it
            sm.transition(session, admin, rest[0], state)
        assert_exact(session)

        result = bulk.run(session, sm, admin, BulkRequest(
            "transition", tuple(rest), target_state="off_market", rollback_on_error=False),
            str(uuid.uuid4()))
        assert result.failed_items == 1
        assert kept_counts(session)[("property", "off_market")] == len(rest) - 1

        # A cascade: out of business takes the listed properties off market, the reps inactive.
        sm.transition(session, admin, estate.builder.id, "out_of_business")
        assert kept_counts(session)[("sales_rep", "inactive")] == 2
        assert_exact(session)


def test_sweeps_and_activity_keep_the_counts_exact(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        reps = make_realestate(sm, session, admin, properties=3, reps=3).reps
        clock.advance(days=200)

        assert sweep(session, sm, clock()).inactivated >= 3
        swept = kept_counts(session)
        sm.record_activity(session, admin, reps[0].id, note="called back")

        assert swept[("sales_rep", "inactive")] == 3 and ("sales_rep", "active") not in swept
        assert kept_counts(session)[("sales_rep", "active")] == 1
        assert_exact(session)


def test_a_command_that_fails_changes_no_count(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        ids = [p.id for p in make_realestate(sm, session, admin, properties=4, reps=0).properties]
        for state in ("under_contract", "sold"):
            sm.transition(session, admin, ids[-1], state)
        before = kept_counts(session)

        result = bulk.run(session, sm, admin, BulkRequest(
            "transition", tuple(ids), target_state="off_market", rollback_on_error=True),
            str(uuid.uuid4()))

        assert result.was_rolled_back
        assert kept_counts(session) == before
        assert_exact(session)


def test_the_demo_seed_and_set_based_inserts_are_counted(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        made = seed.seed(session, sm.workflows.all(session), 300, clock(), keyring=sm.keyring)
        insert_entities(session, [{"type": "ticket", "name": f"t{i}", "status": "NEW"}
                                  for i in range(5)])

        kept = kept_counts(session)
        assert sum(kept.values()) == sum(made.values()) + 5
        assert kept[("ticket", "NEW")] >= 5
        assert_exact(session)


def test_entities_deleted_or_moved_through_the_orm_are_counted(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        reps = [make_entity(sm, session, admin, "sales_rep").id for _ in range(3)]
        session.get(Entity, reps[0]).status = "inactive"
        session.delete(session.get(Entity, reps[1]))
        session.commit()

        assert kept_counts(session) == {("sales_rep", "active"): 1, ("sales_rep", "inactive"): 1}
        assert_exact(session)


def test_drift_is_reported_per_status_and_repaired(database, clock, admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        make_realestate(sm, session, admin, properties=3, reps=1)
        session.execute(text("UPDATE entity_counts SET n = n + 2 "
                             "WHERE type = 'property' AND status = 'available'"))
        session.execute(text("DELETE FROM entity_counts WHERE type = 'sales_rep'"))
        session.commit()

        found = counts.drift(session)
        repaired = counts.repair(session)

        assert [(d.type, d.status, d.kept, d.actual) for d in found] == [
            ("property", "available", 5, 3), ("sales_rep", "active", 0, 1)]
        assert repaired == found
        assert_exact(session)


# ----------------------------------------------------------------- many writers at once

THREADS, ROUNDS, REPS = 6, 12, 10
FLIP = {"active": "inactive", "inactive": "active"}


def _writer(sm, factory, actor, ids, seed_, barrier, errors):
    rnd = random.Random(seed_)
    with factory() as session:
        barrier.wait()
        for _ in range(ROUNDS):
            try:
                if rnd.random() < 0.3:  # a bulk move of several reps one way
                    bulk.run(session, sm, actor, BulkRequest(
                        "transition", tuple(rnd.sample(ids, 4)),
                        target_state=rnd.choice(list(FLIP)), rollback_on_error=False),
                        str(uuid.uuid4()))
                    continue
                entity_id = rnd.choice(ids)
                status = session.scalar(select(Entity.status).where(Entity.id == entity_id))
                session.rollback()
                sm.transition(session, actor, entity_id, FLIP[status])
            except StatekeeperError:
                session.rollback()  # a conflict or a move someone else made first: expected
            except Exception as exc:  # noqa: BLE001 - a deadlock or lost count fails the test
                errors.append(exc)
                session.rollback()


def test_concurrent_writers_moving_entities_both_ways_keep_the_counts_exact(database, clock,
                                                                            admin):
    with database() as session:
        sm = make_manager(session, clock, admin)
        ids = [make_entity(sm, session, admin, "sales_rep").id for _ in range(REPS)]
    errors: list[Exception] = []
    barrier = threading.Barrier(THREADS)
    threads = [threading.Thread(target=_writer, args=(sm, database, admin, ids, n, barrier, errors))
               for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)

    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert [str(e) for e in errors] == []
    with database() as session:
        statuses = Counter(session.scalars(select(Entity.status).where(Entity.id.in_(ids))))
        assert kept_counts(session) == {("sales_rep", s): n for s, n in statuses.items()}
        assert_exact(session)

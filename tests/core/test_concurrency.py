"""Many writers on the same entities: no lost update, on SQLite and on PostgreSQL.

Each thread has its own Session (as each request or worker does), reads an entity, then
transitions it or patches its data naming the version it read. Whoever comes second with
that version must get a ConcurrencyConflict, never overwrite the winner.
"""
from __future__ import annotations

import random
import threading
from collections import defaultdict
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import count_rows, make_entity, make_manager
from webapp.core.audit import chain as audit
from webapp.core.base.errors import ConcurrencyConflict
from webapp.models import Entity, StatusChange

THREADS = 8
ROUNDS = 25
TARGETS = {"active": "inactive", "inactive": "active"}


@dataclass
class Attempt:
    entity_id: int
    kind: str  # "transition" or "update"
    read_version: int
    #: the version the command answered with; None when it lost
    new_version: int | None = None
    conflict: ConcurrencyConflict | None = None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    """Sessions on a fresh database: the test's SQLite file, or its own PostgreSQL database."""
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


def _worker(manager, factory, actor, ids, seed, barrier, attempts, errors):
    rnd = random.Random(seed)
    with factory() as session:
        barrier.wait()
        for _ in range(ROUNDS):
            entity_id = rnd.choice(ids)
            status, version, data = session.execute(select(
                Entity.status, Entity.version, Entity.data).where(Entity.id == entity_id)).one()
            session.rollback()
            kind = rnd.choice(["transition", "transition", "update"])
            attempt = Attempt(entity_id, kind, version)
            try:
                if kind == "transition":
                    done = manager.transition(session, actor, entity_id, TARGETS[status],
                                              version=version).entity
                else:
                    done = manager.update_entity(session, actor, entity_id, version=version,
                                                 data={"commission_rate": _edits(data) + 1})
                attempt.new_version = done.version
            except ConcurrencyConflict as exc:
                attempt.conflict = exc
            except Exception as exc:  # anything else is a failure of the test  # noqa: BLE001
                errors.append(exc)
            attempts.append(attempt)


def _edits(data) -> int:
    """The count of data edits, kept in a sales rep's commission rate (a decimal, as text)."""
    return int(data.get("commission_rate", 0))


def _race(manager, factory, actor, ids):
    attempts: list[Attempt] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(THREADS)
    threads = [threading.Thread(target=_worker, args=(manager, factory, actor, ids, seed, barrier,
                                                      attempts, errors)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert errors == []
    return attempts


def test_concurrent_writers_lose_no_update_and_losers_get_a_conflict(database, clock, admin):
    with database() as session:
        manager = make_manager(session, clock, admin)
        ids = [make_entity(manager, session, admin, "sales_rep").id for _ in range(2)]
        before = count_rows(session)

    attempts = _race(manager, database, admin, ids)

    wins = [a for a in attempts if a.new_version is not None]
    losses = [a for a in attempts if a.conflict is not None]
    assert len(wins) + len(losses) == THREADS * ROUNDS
    assert losses, "with this many writers some must have read a stale version"
    for lost in losses:
        extra = lost.conflict.extra
        assert lost.conflict.status == 409
        assert extra["your_version"] == lost.read_version < extra["current_version"]

    with database() as session:
        by_entity = defaultdict(list)
        for win in wins:
            by_entity[win.entity_id].append(win)
        for entity_id in ids:
            entity = session.get(Entity, entity_id)
            won = by_entity[entity_id]
            # Each version was the base of exactly one successful write: no two writers won
            # with the same read, so versions rose strictly, one per change, nothing overwritten.
            assert sorted(w.read_version for w in won) == list(range(1, entity.version))
            # (The entity a command returns is re-read after the commit, so it may already
            # show a later writer's version; it is never older than the writer's own.)
            assert all(w.new_version > w.read_version for w in won)
            rows = session.scalars(select(StatusChange).where(
                StatusChange.entity_id == entity_id, StatusChange.action != "create")
                .order_by(StatusChange.id)).all()
            assert len(rows) == len(won)  # one history row per successful change
            moves = [r for r in rows if r.action != "update"]
            assert len(moves) == sum(w.kind == "transition" for w in won)
            chain = ["active", *[r.new_status for r in moves]]
            assert [r.old_status for r in moves] == chain[:-1]
            assert entity.status == chain[-1]
            assert _edits(entity.data) == sum(w.kind == "update" for w in won)
        after = count_rows(session)
        assert after["status_changes"] - before["status_changes"] == len(wins)
        assert after["outbox_events"] - before["outbox_events"] == len(wins)
        assert after["audit_entries"] - before["audit_entries"] == len(wins)
        assert audit.verify(session).ok


def test_a_writer_holding_a_stale_read_is_refused_and_the_winner_stands(database, clock, admin):
    with database() as first, database() as second:
        manager = make_manager(first, clock, admin)
        rep = make_entity(manager, first, admin, "sales_rep")
        seen_by_second = second.get(Entity, rep.id).version
        manager.transition(first, admin, rep.id, "inactive", version=1)
        with pytest.raises(ConcurrencyConflict) as refused:
            manager.update_entity(second, admin, rep.id, version=seen_by_second,
                                  data={"email": "late@example.com"})
        assert refused.value.extra == {"your_version": 1, "current_version": 2}
        second.rollback()
        current = second.get(Entity, rep.id)
        assert (current.status, current.data, current.version) == ("inactive", {}, 2)

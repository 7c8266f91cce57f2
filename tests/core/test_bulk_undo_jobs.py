"""Undoing a bulk operation, and large operations as chunked background jobs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import count_rows, make_entity, make_realestate
from webapp.core.base.errors import NotFound
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.models import BulkOperation, Entity, Lease, StatusChange

ROOT = Path(__file__).resolve().parents[2]


def _cid() -> str:
    return str(uuid.uuid4())


def _status(session, entity_id):
    session.rollback()
    return session.get(Entity, entity_id).status


def _withdrawn(manager, session, actor, n=4):
    ids = tuple(p.id for p in make_realestate(manager, session, actor, properties=n, reps=0).properties)
    cid = _cid()
    bulk.run(session, manager, actor, BulkRequest("transition", ids, target_state="off_market"), cid)
    return ids, cid


def _undo(manager, session, actor, cid, dry_run=False):
    req = bulk_jobs.undo_request(session, actor, cid, dry_run=dry_run)
    return bulk.run(session, manager, actor, req, _cid())


# ------------------------------------------------------------------------------- undo


def test_undo_restores_every_entity_the_operation_changed(manager, session, support):
    ids, cid = _withdrawn(manager, session, support)

    result = _undo(manager, session, support, cid)

    assert result.successful_ids == list(ids) and result.failure_details == {}
    assert {_status(session, i) for i in ids} == {"available"}
    reverts = session.scalars(select(StatusChange).where(
        StatusChange.correlation_id == result.audit_correlation_id)).all()
    assert {(r.source, r.old_status, r.new_status) for r in reverts} == {
        ("revert", "off_market", "available")}


def test_undo_skips_and_lists_entities_changed_since(manager, session, support):
    ids, cid = _withdrawn(manager, session, support)
    manager.transition(session, support, ids[2], "available")
    manager.transition(session, support, ids[2], "reserved")

    result = _undo(manager, session, support, cid)

    assert result.successful_ids == [ids[0], ids[1], ids[3]]
    assert result.failure_details == {ids[2]: (
        f"Property {session.get(Entity, ids[2]).name!r} was changed since (now reserved); "
        f"it was left as it is.")}
    assert _status(session, ids[2]) == "reserved"


def test_an_undo_dry_run_previews_and_writes_nothing(manager, session, support):
    ids, cid = _withdrawn(manager, session, support, 2)
    before = count_rows(session)

    preview = _undo(manager, session, support, cid, dry_run=True)

    assert preview.successful_ids == list(ids) and preview.dry_run
    assert [(r["old_status"], r["new_status"]) for r in preview.rows] == [
        ("off_market", "available")] * 2
    assert count_rows(session) == before


def test_undo_restores_data_changed_by_an_update(manager, session, support):
    ticket = make_entity(manager, session, support, "ticket", data={"priority": "LOW"})
    cid = _cid()
    bulk.run(session, manager, support, BulkRequest(
        "update", (ticket.id,), update_data={"priority": "CRITICAL", "category": "Plumbing"}), cid)

    _undo(manager, session, support, cid)

    session.rollback()
    assert session.get(Entity, ticket.id).data == {"priority": "LOW"}


def test_undoing_twice_changes_nothing_the_second_time(manager, session, support):
    ids, cid = _withdrawn(manager, session, support, 2)
    _undo(manager, session, support, cid)

    again = _undo(manager, session, support, cid)

    assert again.successful_ids == [] and set(again.failure_details) == set(ids)


def test_undo_of_an_unknown_operation_is_not_found(manager, session, support):
    with pytest.raises(NotFound):
        bulk_jobs.undo_request(session, support, _cid(), dry_run=True)


def test_undo_warns_that_cascaded_changes_stay(manager, session, support):
    estate = make_realestate(manager, session, support, properties=2, reps=0)
    cid = _cid()
    bulk.run(session, manager, support, BulkRequest(
        "transition", (estate.builder.id,), target_state="suspended"), cid)
    bulk.run(session, manager, support, BulkRequest(
        "transition", (estate.builder.id,), target_state="out_of_business"), cid2 := _cid())

    result = _undo(manager, session, support, cid2, dry_run=True)

    # out_of_business is final: the workflow has no way back, so nothing is undone.
    assert "final state" in result.failure_details[estate.builder.id]
    assert result.warnings == [("2 cascaded changes of that operation are not undone; revert them "
                               "one by one if needed.")]


# ------------------------------------------------------------------------------- jobs


def test_a_job_runs_in_chunks_and_records_its_progress(manager, session, support):
    ids = tuple(p.id for p in make_realestate(manager, session, support, properties=7, reps=0).properties)
    cid = _cid()
    bulk_jobs.queue(session, manager, support, BulkRequest(
        "transition", ids + (424242,), target_state="pending"), cid)
    seen = []

    op = bulk_jobs.run_job(session, manager, cid, "test-runner", chunk_size=3,
                           after_chunk=lambda op: seen.append(op.processed_items))

    assert seen == [3, 6, 8]
    assert (op.state, op.successful_items, op.failed_items) == ("done", 7, 1)
    result = bulk_jobs.result_of(op)
    assert result["successful_ids"] == list(ids) and result["failed_ids"] == [424242]
    assert session.scalar(select(func.count()).select_from(Lease)) == 0


def test_a_job_whose_process_died_is_an_orphan_and_resumes_where_it_stopped(
        manager, session, support, clock):
    ids = tuple(p.id for p in make_realestate(manager, session, support, properties=6, reps=0).properties)
    cid = _cid()
    bulk_jobs.queue(session, manager, support, BulkRequest(
        "transition", ids, target_state="pending"), cid)

    class Died(Exception):
        pass

    def die(_op):
        raise Died

    with pytest.raises(Died):
        bulk_jobs.run_job(session, manager, cid, "dead-process", chunk_size=2, after_chunk=die)
    session.rollback()
    op = bulk_jobs.get(session, cid)
    op.state = "running"  # as a SIGKILL leaves it (the test's exception marked it failed)
    session.execute(Lease.__table__.insert().values(
        name=f"bulk:{cid}", holder="dead-process", expires_at=clock() + bulk_jobs.LEASE_TTL))
    session.commit()

    assert bulk_jobs.orphans(session, clock()) == []
    assert bulk_jobs.run_job(session, manager, cid, "another-process") is None
    clock.advance(minutes=3)
    assert bulk_jobs.orphans(session, clock()) == [cid]
    op = bulk_jobs.run_job(session, manager, cid, "another-process", chunk_size=2)

    assert (op.state, op.processed_items, op.successful_items) == ("done", 6, 6)
    session.rollback()
    assert {_status(session, i) for i in ids} == {"pending"}


KILLED_JOB = textwrap.dedent("""
    import sys
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from webapp.core.bulk import jobs as bulk_jobs
    from webapp.core.changes.manager import StateManager
    from webapp.models.engine import configure_engines

    configure_engines()
    with Session(create_engine(sys.argv[1])) as session:
        def report(op):
            print(op.processed_items, flush=True)
            sys.stdin.readline()  # wait until the test says "go on" (or kills us)
        bulk_jobs.run_job(session, StateManager(), sys.argv[2], "victim", chunk_size=50,
                          after_chunk=report)
""")


def test_a_process_killed_mid_job_leaves_each_chunk_all_or_nothing(
        manager, session, support, engine):
    ids = tuple(p.id for p in make_realestate(manager, session, support, properties=300, reps=0).properties)
    cid = _cid()
    bulk_jobs.queue(session, manager, support, BulkRequest(
        "transition", ids, target_state="off_market"), cid)
    session.close()
    with subprocess.Popen([sys.executable, "-c", KILLED_JOB, str(engine.url), cid], cwd=ROOT,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout.readline().strip() == "50"
        child.stdin.write("go on\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "100"
        child.stdin.write("go on\n")
        child.stdin.flush()
        os.kill(child.pid, signal.SIGKILL)  # while it writes the third chunk (or just before)
        child.wait()

    with Session(engine) as fresh:
        moved = set(fresh.scalars(select(Entity.id).where(
            Entity.id.in_(ids), Entity.status == "off_market")))
        logged = set(fresh.scalars(select(StatusChange.entity_id).where(
            StatusChange.correlation_id == cid)))
        op = fresh.scalar(select(BulkOperation).where(BulkOperation.correlation_id == cid))
        assert moved == logged, "a status without its history row (or the reverse)"
        assert len(moved) in (100, 150), "a chunk was written in part"
        assert op.processed_items == len(moved)

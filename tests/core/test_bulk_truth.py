"""Bulk jobs tell the truth (issue 19): one bulk limit on every path, every chunk's failure
reasons kept, a job whose process stopped says so, and an undo the workflow refuses says why."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.factories import make_realestate
from webapp.core.base import lease
from webapp.core.base.errors import InvalidInput
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.models import BulkOperation, Entity

LIMIT = {"ids": "At most 3 properties per request."}


def _cid() -> str:
    return str(uuid.uuid4())


def _properties(manager, session, actor, n):
    return tuple(p.id for p in make_realestate(manager, session, actor, properties=n, reps=0).properties)


@pytest.fixture
def four_over_a_cap_of_three(manager, session, support, admin, clock):
    ids = _properties(manager, session, support, 4)
    with write_transaction(session):
        manager.settings.apply(session, {"property_bulk_operation_max": 3}, admin.name, clock())
    return ids


# ------------------------------------------------------------------------ the bulk limit


def test_a_preview_refuses_what_the_bulk_limit_refuses_to_run(
        manager, session, support, four_over_a_cap_of_three):
    with pytest.raises(InvalidInput) as refused:
        bulk.run(session, manager, support, BulkRequest(
            "transition", four_over_a_cap_of_three, target_state="pending", dry_run=True), "")

    assert refused.value.fields == LIMIT
    assert "at most 3 may be changed at once (setting property_bulk_operation_max)" in (
        refused.value.message)


def test_a_background_job_over_the_bulk_limit_is_refused_and_not_queued(
        manager, session, support, four_over_a_cap_of_three):
    with pytest.raises(InvalidInput) as refused:
        bulk_jobs.queue(session, manager, support, BulkRequest(
            "transition", four_over_a_cap_of_three, target_state="pending"), _cid())

    assert refused.value.fields == LIMIT
    session.rollback()
    assert session.scalar(select(func.count()).select_from(BulkOperation)) == 0


def test_an_undo_is_never_refused_for_its_size(manager, session, support, admin, clock):
    ids = _properties(manager, session, support, 4)
    cid = _cid()
    bulk.run(session, manager, support, BulkRequest("transition", ids, target_state="pending"), cid)
    with write_transaction(session):
        manager.settings.apply(session, {"property_bulk_operation_max": 3}, admin.name, clock())

    undone = bulk.run(session, manager, support,
                      bulk_jobs.undo_request(session, support, cid, dry_run=False), _cid())

    assert undone.successful_items == 4


# ------------------------------------------------------------- failure reasons of a job


def test_a_job_keeps_the_failure_reasons_of_every_chunk_and_counts_that_agree(
        manager, session, support):
    # Three chunks of 200, each with failures; the first chunk fills the kept rows (200),
    # after which only the failure reasons change from chunk to chunk.
    real = _properties(manager, session, support, 3)
    missing = range(1_000_000, 1_000_597)
    ids = (*real, *missing)
    cid = _cid()
    bulk_jobs.queue(session, manager, support, BulkRequest(
        "transition", ids, target_state="pending"), cid)

    op = bulk_jobs.run_job(session, manager, cid, "worker-1", chunk_size=200)

    session.expire_all()
    op = bulk_jobs.get(session, cid)
    assert (op.processed_items, op.successful_items, op.failed_items) == (600, 3, 597)
    assert len(op.result["failure_details"]) == op.failed_items == len(op.result["failed_ids"])
    assert op.result["failure_details"][str(missing[-1])] == f"No entity with id {missing[-1]}."
    assert not any("were kept" in w for w in op.result["warnings"])


# -------------------------------------------------------------- a job whose process stopped


def test_a_running_job_whose_process_stopped_shows_waiting_to_resume_before_its_lease_ends(
        manager, session, support, clock):
    ids = _properties(manager, session, support, 3)
    cid = _cid()
    op = bulk_jobs.queue(session, manager, support, BulkRequest(
        "transition", ids, target_state="pending"), cid)
    assert bulk_jobs.shown_state(session, op, clock()) == "queued"  # nobody claimed it yet
    # What a process killed mid-job leaves: the job running, its lease renewed a moment ago.
    lease.acquire(session, f"bulk:{cid}", "killed-worker", clock(), bulk_jobs.LEASE_TTL)
    with write_transaction(session):
        bulk_jobs.get(session, cid).state = "running"
    op = bulk_jobs.get(session, cid)
    assert bulk_jobs.shown_state(session, op, clock()) == "running"

    clock.advance(seconds=31)  # no chunk renewed the lease since: the heartbeat is stale

    assert bulk_jobs.shown_state(session, op, clock()) == bulk_jobs.STALLED
    assert lease.current(session, f"bulk:{cid}", clock()) is not None  # the lease still runs
    clock.advance(minutes=2)
    assert bulk_jobs.shown_state(session, op, clock()) == bulk_jobs.STALLED


# ------------------------------------------------------------------ undo the workflow refuses


def _sold(manager, session, actor, n=2):
    """Properties moved to sold (a final state) by a bulk operation; its id."""
    ids = _properties(manager, session, actor, n)
    bulk.run(session, manager, actor, BulkRequest("transition", ids, target_state="under_contract"),
             _cid())
    bulk.run(session, manager, actor, BulkRequest("transition", ids, target_state="sold"), cid := _cid())
    return ids, cid


def test_an_undo_the_workflow_forbids_says_so_for_each_entity(manager, session, support):
    ids, cid = _sold(manager, session, support)

    result = bulk.run(session, manager, support,
                      bulk_jobs.undo_request(session, support, cid, dry_run=True), "")

    assert result.successful_items == 0
    for i in ids:
        reason = result.failure_details[i]
        assert "cannot go back to under_contract: the workflow has no way back" in reason
        assert "An admin may force the undo." in reason and "changed since" not in reason


def test_an_admin_may_force_an_undo_the_workflow_forbids(manager, session, support, admin):
    ids, cid = _sold(manager, session, support)

    result = bulk.run(session, manager, admin,
                      bulk_jobs.undo_request(session, admin, cid, dry_run=False, force=True), _cid())

    assert result.successful_ids == list(ids)
    session.rollback()
    assert {session.get(Entity, i).status for i in ids} == {"under_contract"}

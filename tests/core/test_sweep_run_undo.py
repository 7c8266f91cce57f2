"""A past sweep run: what it did, paged, and its undo as one operation (entities changed since
are reported, not overwritten), on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_entity, make_manager
from webapp.core.base.actor import Actor
from webapp.core.base.errors import NotFound
from webapp.core.bulk import operations as bulk
from webapp.core.sweeps import run_detail
from webapp.core.sweeps import runs as sweep_runs
from webapp.models import BulkOperation, Entity, StatusChange

SUPPORT = Actor("sam", "support")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


@pytest.fixture
def world(database, clock, admin):
    """Three quiet sales reps made inactive and a builder warned by one recorded run."""
    session = database()
    sm = make_manager(session, clock, admin)
    reps = [make_entity(sm, session, SUPPORT, "sales_rep", name=f"Rep {n}").id for n in range(3)]
    builder = make_entity(sm, session, SUPPORT, "builder", name="Acme Homes").id
    clock.advance(days=61)
    run_id = sweep_runs.run(session, sm, clock).run_id
    yield sm, session, reps, builder, run_detail.get(session, run_id)
    session.close()


def _status(session, entity_id):
    session.rollback()
    return session.get(Entity, entity_id, populate_existing=True).status


def test_a_run_lists_what_it_warned_and_made_inactive_page_by_page(world) -> None:
    _sm, session, reps, builder, run = world
    cid = run_detail.correlation_id(session, run)

    first = run_detail.items(session, run, cid, "inactivate", limit=2)
    second = run_detail.items(session, run, cid, "inactivate", after=first.next_cursor, limit=2)
    warned = run_detail.items(session, run, cid, "warn")

    assert [i["id"] for i in first.items + second.items] == reps
    assert second.next_cursor is None
    assert {(i["old_status"], i["new_status"], i["status"]) for i in first.items} == {
        ("active", "inactive", "inactive")}
    assert [(i["id"], i["name"], i["days_quiet"]) for i in warned.items] == [
        (builder, "Acme Homes", 61)]
    assert run_detail.items(session, run, cid, "reactivate").items == []
    assert run_detail.summary(session, run, cid)["undoable"] is True


def test_undoing_a_run_puts_its_changes_back_and_reports_those_changed_since(world) -> None:
    sm, session, reps, builder, run = world
    sm.record_activity(session, SUPPORT, reps[0], note="called back")  # active again since

    preview = bulk.run(session, sm, SUPPORT, run_detail.undo_request(
        session, SUPPORT, run, dry_run=True), "")
    assert (preview.successful_ids, list(preview.failure_details)) == (reps[1:], [reps[0]])
    assert [_status(session, r) for r in reps] == ["active", "inactive", "inactive"]

    cid = str(uuid.uuid4())
    done = bulk.run(session, sm, SUPPORT, run_detail.undo_request(
        session, SUPPORT, run, dry_run=False), cid)

    assert done.successful_ids == reps[1:]
    assert "changed since" in done.failure_details[reps[0]]
    assert [_status(session, r) for r in reps] == ["active", "active", "active"]
    last = session.scalars(select(StatusChange).where(StatusChange.entity_id == reps[1])
                           .order_by(StatusChange.id.desc())).first()
    assert (last.source, last.correlation_id, last.reason) == (
        "revert", cid, f"Undo of sweep run {run.id}.")
    op = session.scalars(select(BulkOperation).where(BulkOperation.correlation_id == cid)).one()
    assert op.params["undo_of"] == run_detail.correlation_id(session, run)
    assert _status(session, builder) == "active"  # warned only: nothing to put back


def test_a_run_that_changed_nothing_or_does_not_exist_has_nothing_to_undo(world, clock) -> None:
    sm, session, _reps, _builder, _run = world
    clock.advance(minutes=1)
    quiet = run_detail.get(session, sweep_runs.run(session, sm, clock).run_id)

    with pytest.raises(NotFound, match="made no change"):
        run_detail.undo_request(session, SUPPORT, quiet, dry_run=True)
    with pytest.raises(NotFound):
        run_detail.get(session, 999_999)
    assert run_detail.summary(session, quiet, run_detail.correlation_id(session, quiet))[
        "undoable"] is False

"""A background bulk job has one holder at a time: a holder whose lease ran out and was taken
over stops at its next chunk, writes nothing more, and leaves the job to the new holder.

The story (issue 13): process A stalls past its lease, B claims the job and carries on, and A
wakes up and renews. A's renew must fail -- it used to take the lease back, and then both ran
the job. Shown with two sessions in two threads (interleaved through ``after_chunk`` and the
injected clock) on SQLite and PostgreSQL, and with two real OS processes.
"""
from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_manager, make_realestate
from webapp.core.base import lease
from webapp.core.bulk import jobs as bulk_jobs
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.models import AuditEntry, BulkOperation, Lease, StatusChange

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 2
ITEMS = 6
WAIT = 30  # seconds; only ever reached when something is broken


def _queued_job(manager: StateManager, session: Session, actor) -> tuple[list[int], str]:
    """ITEMS available properties and a queued job moving them to pending."""
    ids = [p.id for p in make_realestate(manager, session, actor, properties=ITEMS, reps=0).properties]
    cid = str(uuid.uuid4())
    bulk_jobs.queue(session, manager, actor, BulkRequest(
        "transition", tuple(ids), target_state="pending"), cid)
    session.close()
    return ids, cid


def _two_holders(sessions: sessionmaker[Session], manager: StateManager, cid: str) -> dict:
    """A runs one chunk and stalls past its lease; B claims the job and runs a chunk, and
    while B holds the lease, A wakes up and goes on; then B finishes. Returns each holder's
    outcome (the job's state when it returned, or the exception it raised) and the progress
    it saw after each of its chunks."""
    a_stalled, b_claimed = threading.Event(), threading.Event()
    seen: dict[str, list[int]] = {"a": [], "b": []}
    outcome: dict[str, object] = {}

    def a_after_chunk(op: BulkOperation) -> None:
        seen["a"].append(op.processed_items)
        if len(seen["a"]) == 1:
            manager.clock.advance(minutes=3)  # A stalls: its two-minute lease runs out
            a_stalled.set()
            assert b_claimed.wait(WAIT)

    def run(holder: str, after_chunk) -> None:
        with sessions() as session:
            try:
                op = bulk_jobs.run_job(session, manager, cid, holder, CHUNK, after_chunk)
                outcome[holder] = op and op.state
            except Exception as exc:  # noqa: BLE001 -- the outcome under test
                outcome[holder] = exc

    def b_after_chunk(op: BulkOperation) -> None:
        seen["b"].append(op.processed_items)
        if len(seen["b"]) == 1:  # B holds the lease; A wakes up and tries its next chunk
            b_claimed.set()
            a.join(WAIT)

    a = threading.Thread(target=run, args=("a", a_after_chunk))
    a.start()
    assert a_stalled.wait(WAIT)
    run("b", b_after_chunk)
    a.join(WAIT)
    return {"outcome": outcome, "seen": seen}


def _assert_only_b_finished_the_job(engine: Engine, ids: list[int], cid: str, run: dict) -> None:
    with Session(engine) as check:
        changes = dict(check.execute(
            select(StatusChange.entity_id, func.count()).where(StatusChange.correlation_id == cid)
            .group_by(StatusChange.entity_id)).all())
        op = check.scalar(select(BulkOperation).where(BulkOperation.correlation_id == cid))
        parts = check.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.correlation_id == cid))
        leases = check.scalar(select(func.count()).select_from(Lease))
    assert changes == {i: 1 for i in ids}, "an entity changed twice (or not at all)"
    assert (op.state, op.processed_items, op.successful_items, op.failed_items) == (
        "done", ITEMS, ITEMS, 0)
    assert parts == ITEMS // CHUNK, "one audit record per chunk, each written once"
    assert leases == 0
    assert run["seen"] == {"a": [2], "b": [4, 6]}, "A ran a chunk after losing its lease"
    assert isinstance(run["outcome"]["a"], lease.LeaseLost)
    assert run["outcome"]["b"] == "done"


def test_a_holder_whose_lease_was_taken_over_stops_and_the_new_holder_finishes(
        manager, session, session_factory, engine, support):
    ids, cid = _queued_job(manager, session, support)

    run = _two_holders(session_factory, manager, cid)

    _assert_only_b_finished_the_job(engine, ids, cid, run)


@pytest.mark.postgres
def test_a_holder_whose_lease_was_taken_over_stops_on_postgresql(pg_engine, clock, admin,
                                                                 support):
    with Session(pg_engine) as setup:
        manager = make_manager(setup, clock, admin)
        ids, cid = _queued_job(manager, setup, support)

    run = _two_holders(sessionmaker(pg_engine), manager, cid)

    _assert_only_b_finished_the_job(pg_engine, ids, cid, run)


def test_a_job_that_lost_its_lease_is_left_to_the_new_holder_not_marked_failed(
        manager, session, support, clock):
    _ids, cid = _queued_job(manager, session, support)

    def taken_over(_op: BulkOperation) -> None:
        clock.advance(minutes=3)
        assert lease.acquire(session, f"bulk:{cid}", "b", clock(), bulk_jobs.LEASE_TTL)

    with pytest.raises(lease.LeaseLost):
        bulk_jobs.run_job(session, manager, cid, "a", CHUNK, taken_over)

    session.rollback()
    op = bulk_jobs.get(session, cid)
    assert (op.state, op.processed_items) == ("running", CHUNK)
    assert "error" not in op.result
    assert lease.current(session, f"bulk:{cid}", clock()).holder == "b"


# ------------------------------------------------------------------- two OS processes

#: One holder in a process of its own, its clock standing at argv[4] (ISO): after each chunk
#: it prints the job's progress and waits for the test's "go on"; at the end, how it ended
#: (the job's state, or the exception that stopped it).
HOLDER = textwrap.dedent("""
    import sys
    from datetime import datetime
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from webapp.core.bulk import jobs as bulk_jobs
    from webapp.core.changes.manager import StateManager
    from webapp.models.engine import configure_engines

    configure_engines()
    manager = StateManager(clock=lambda: datetime.fromisoformat(sys.argv[4]))

    def pause(op):
        print(op.processed_items, flush=True)
        sys.stdin.readline()

    with Session(create_engine(sys.argv[1])) as session:
        try:
            op = bulk_jobs.run_job(session, manager, sys.argv[2], sys.argv[3], chunk_size=2,
                                   after_chunk=pause)
            print(op.state if op else "busy", flush=True)
        except Exception as exc:
            print(type(exc).__name__, flush=True)
""")


class Holder:
    """A job holder in its own OS process, driven line by line; what it says goes to ``said``."""

    def __init__(self, name: str, url: str, cid: str, now: datetime, said: list[str]) -> None:
        self.name, self.said = name, said
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, cid, name, now.isoformat()], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._hear()

    def _hear(self) -> None:
        self.last = self.proc.stdout.readline().strip()
        self.said.append(f"{self.name}: {self.last}")

    def go_on(self) -> None:
        self.proc.stdin.write("go on\n")
        self.proc.stdin.flush()
        self._hear()

    def to_the_end(self) -> None:
        while self.last.isdigit():  # paused after a chunk
            self.go_on()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):  # it may have ended already
            self.proc.stdin.close()
        self.proc.wait(WAIT)
        self.proc.stdout.close()


def _two_processes(url: str, cid: str, start: datetime) -> list[str]:
    """A runs a chunk and stalls; three minutes later (B's clock) B claims the job and runs a
    chunk; A goes on while B holds the lease; then B finishes. What each process said."""
    said: list[str] = []
    a = Holder("a", url, cid, start, said)
    b = Holder("b", url, cid, start + timedelta(minutes=3), said)
    try:
        a.go_on()
        b.to_the_end()
        a.to_the_end()  # with the old lease code, A carried on as well
    finally:
        a.close()
        b.close()
    return said


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_two_processes_never_run_one_job_at_once(manager, session, engine, support, clock):
    ids, cid = _queued_job(manager, session, support)

    said = _two_processes(_url(engine), cid, clock())

    assert said == ["a: 2", "b: 4", "a: LeaseLost", "b: 6", "b: done"]
    _assert_rows_written_once(engine, ids, cid)


@pytest.mark.postgres
def test_two_processes_never_run_one_job_at_once_on_postgresql(pg_engine, clock, admin, support):
    with Session(pg_engine) as setup:
        manager = make_manager(setup, clock, admin)
        ids, cid = _queued_job(manager, setup, support)

    said = _two_processes(_url(pg_engine), cid, clock())

    assert said == ["a: 2", "b: 4", "a: LeaseLost", "b: 6", "b: done"]
    _assert_rows_written_once(pg_engine, ids, cid)


def _assert_rows_written_once(engine: Engine, ids: list[int], cid: str) -> None:
    with Session(engine) as check:
        changes = dict(check.execute(
            select(StatusChange.entity_id, func.count()).where(StatusChange.correlation_id == cid)
            .group_by(StatusChange.entity_id)).all())
        op = check.scalar(select(BulkOperation).where(BulkOperation.correlation_id == cid))
    assert changes == {i: 1 for i in ids}
    assert (op.state, op.processed_items, op.successful_items, op.failed_items) == (
        "done", ITEMS, ITEMS, 0)

"""The sweep lease: one holder at a time; a crashed holder's lease runs out and is taken over."""
from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.factories import make_entity
from webapp.core.base import lease
from webapp.core.sweeps import runs as sweep_runs
from webapp.core.sweeps.runs import LEASE, SweepBusy
from webapp.models import SweepRun

TTL = timedelta(minutes=2)


def test_only_one_holder_gets_the_lease(session, clock):
    assert lease.acquire(session, "job", "a", clock(), TTL)
    assert not lease.acquire(session, "job", "b", clock(), TTL)
    assert lease.current(session, "job", clock()).holder == "a"


def test_the_holder_renews_and_others_cannot(session, clock):
    lease.acquire(session, "job", "a", clock(), TTL)
    clock.advance(minutes=1)
    assert lease.renew(session, "job", "a", clock(), TTL)
    assert not lease.renew(session, "job", "b", clock(), TTL)
    clock.advance(minutes=1, seconds=30)
    assert not lease.acquire(session, "job", "b", clock(), TTL)  # renewed: still a's


def test_a_crashed_holders_lease_runs_out_and_another_takes_over(session, clock):
    lease.acquire(session, "job", "a", clock(), TTL)  # ...and then a dies without releasing
    clock.advance(minutes=1, seconds=59)
    assert not lease.acquire(session, "job", "b", clock(), TTL)

    clock.advance(seconds=2)

    assert lease.acquire(session, "job", "b", clock(), TTL)
    assert not lease.renew(session, "job", "a", clock(), TTL)  # a, back from the dead, lost it


def test_a_released_lease_is_free_at_once(session, clock):
    lease.acquire(session, "job", "a", clock(), TTL)
    lease.release(session, "job", "b")  # not b's to give up
    assert lease.current(session, "job", clock()).holder == "a"
    lease.release(session, "job", "a")
    assert lease.current(session, "job", clock()) is None
    assert lease.acquire(session, "job", "b", clock(), TTL)


def test_a_sweep_is_refused_while_another_process_holds_the_lease(manager, session, clock):
    lease.acquire(session, LEASE, "worker@other-host:42", clock(), TTL)

    with pytest.raises(SweepBusy) as busy:
        sweep_runs.run(session, manager, clock)

    assert busy.value.status == 409
    assert "worker@other-host:42" in busy.value.message
    assert session.query(SweepRun).count() == 0


def test_a_run_that_died_unfinished_is_swept_again_once_its_lease_runs_out(manager, session,
                                                                           clock):
    sweep_runs.run(session, manager, clock)
    with session.begin():  # a run that started and whose process was killed
        session.add(SweepRun(started_at=clock(), triggered_by="worker"))
    lease.acquire(session, LEASE, "dead-process", clock(), TTL)
    assert not sweep_runs.is_due(session, manager, clock())

    clock.advance(minutes=3)

    assert sweep_runs.is_due(session, manager, clock())


@pytest.mark.postgres
def test_two_processes_on_postgresql_never_sweep_at_once(pg_engine, clock, admin):
    """Two deliverers with their own connections race for the lease, again and again."""
    from tests.factories import make_manager
    from webapp.models.base import utcnow

    with Session(pg_engine) as setup:
        manager = make_manager(setup, utcnow, admin)
        for _ in range(30):
            make_entity(manager, setup, admin, "sales_rep",
                        last_activity_at=utcnow() - timedelta(days=61))
    spans, busy, lock = [], [], threading.Lock()
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        with Session(pg_engine) as session:
            start.wait()
            for _ in range(15):
                try:
                    report = sweep_runs.run(session, manager, utcnow)
                except SweepBusy:
                    busy.append(name)
                    continue
                with lock:
                    spans.append((report.as_of, session.get(SweepRun, report.run_id).finished_at))

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    spans.sort()
    assert spans and busy, "both outcomes should have happened"
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, "two sweeps overlapped"
    with Session(pg_engine) as check:
        runs = check.query(SweepRun).all()
        assert sum(r.inactivated for r in runs) == 30
        assert all(r.finished_at is not None for r in runs)

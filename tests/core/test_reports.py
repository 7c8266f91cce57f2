"""Time in state, throughput and stuck entities (CONTRACT §8), on SQLite and PostgreSQL, from a
small history made through the StateManager on a hand-moved clock: the same answers before the
history is folded into the roll-ups, after, and half-way; each history row folded once."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import make_entity, make_manager
from webapp.core.base import lease
from webapp.core.reports import queries, rollup
from webapp.models import ReportStateDay, ReportWatermark, StatusChange

HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


@pytest.fixture
def history(database, clock, admin):
    """Four transactions made on 2025-03-03 at 09:00: three activated after 1, 2 and 4 hours,
    the first suspended the next morning (23 hours active); the fourth is still pending."""
    with database() as s:
        sm = make_manager(s, clock, admin)
        ids = [make_entity(sm, s, admin, "transaction").id for _ in range(4)]
        for hours, eid in ((1, ids[0]), (1, ids[1]), (2, ids[2])):
            clock.advance(hours=hours)
            sm.transition(s, admin, eid, "active")
        clock.advance(hours=20)  # 2025-03-04 09:00
        sm.transition(s, admin, ids[0], "suspended")
    return sm, ids


def _report(database, wf, since=None, until=None):
    with database() as s:
        return {row.state: row for row in queries.time_in_state(s, wf, since, until)}


def _fold(database, clock, holder="test"):
    with database() as s:
        return rollup.fold(s, clock, holder)


def _expect_the_story(rows, ids):
    pending, active, suspended, expired = (rows[s] for s in ("pending", "active", "suspended",
                                                             "expired"))
    assert (pending.entries, pending.stays, pending.current) == (4, 3, 1)
    assert pending.p50_hours == pytest.approx(2, rel=0.011)  # stays of 1, 2 and 4 hours
    assert pending.p90_hours == pytest.approx(4, rel=0.011)
    assert pending.max_hours == 4.0
    assert pending.oldest.id == ids[3]
    assert (active.entries, active.stays, active.current, active.max_hours) == (3, 1, 2, 23.0)
    assert active.oldest.id == ids[1]  # activated at 11:00, before the third at 13:00
    assert (suspended.entries, suspended.current, suspended.oldest.id) == (1, 1, ids[0])
    assert suspended.p50_hours is None and suspended.max_hours is None
    assert (expired.entries, expired.current, expired.oldest) == (0, 0, None)
    assert expired.to_dict() == {"state": "expired", "entries": 0, "p50_hours": None,
                                 "p90_hours": None, "max_hours": None, "current": 0,
                                 "oldest_current_id": None}


def test_time_in_state_is_the_same_before_and_after_the_history_is_folded(database, history,
                                                                           clock):
    sm, ids = history
    with database() as s:
        wf = sm.workflow(s, "transaction")

    _expect_the_story(_report(database, wf), ids)  # nothing folded: all read from history
    assert _fold(database, clock) == 8  # 4 creations, 3 activations, 1 suspension
    _expect_the_story(_report(database, wf), ids)
    with database() as s:
        assert s.scalar(select(func.sum(ReportStateDay.entries))
                        .where(ReportStateDay.type == "transaction")) == 8


def test_since_and_until_count_whole_utc_days(database, history, clock):
    sm, _ids = history
    _fold(database, clock)
    with database() as s:
        wf = sm.workflow(s, "transaction")

    second_day = _report(database, wf, date(2025, 3, 4), date(2025, 3, 4))
    assert second_day["pending"].entries == 0 and second_day["pending"].p50_hours is None
    assert second_day["active"].entries == 0
    assert second_day["active"].p50_hours == pytest.approx(23, rel=0.011)
    assert second_day["suspended"].entries == 1
    assert second_day["pending"].current == 1  # current is now, whatever the days asked


def test_throughput_counts_entries_per_day_and_state_for_the_last_n_days(database, history,
                                                                         clock):
    sm, _ids = history
    with database() as s:
        wf = sm.workflow(s, "transaction")
        days = queries.throughput(s, wf, 3, clock().date())

    assert days == [
        {"date": "2025-03-02", "pending": 0, "active": 0, "suspended": 0, "expired": 0},
        {"date": "2025-03-03", "pending": 4, "active": 3, "suspended": 0, "expired": 0},
        {"date": "2025-03-04", "pending": 0, "active": 0, "suspended": 1, "expired": 0}]


def test_history_written_after_a_fold_is_counted_exactly_once(database, history, clock, admin):
    sm, ids = history
    _fold(database, clock)
    with database() as s:
        sm.transition(s, admin, ids[1], "suspended")  # after the fold: read from the tail
        wf = sm.workflow(s, "transaction")
        assert queries.throughput(s, wf, 1, clock().date())[0]["suspended"] == 2

    assert _fold(database, clock) == 1
    assert _fold(database, clock) == 0
    with database() as s:
        assert queries.throughput(s, wf, 1, clock().date())[0]["suspended"] == 2
        assert s.scalar(select(ReportWatermark.last_id)) == s.scalar(
            select(func.max(StatusChange.id)))


def test_two_folders_at_once_count_each_row_once(database, history, clock):
    sm, _ids = history
    start = threading.Barrier(2)
    folded: list[int] = []

    def folder(name: str) -> None:
        start.wait()
        folded.append(_fold(database, clock, name))

    threads = [threading.Thread(target=folder, args=(f"folder-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(folded) == 8
    with database() as s:
        assert s.scalar(select(func.sum(ReportStateDay.entries))) == 8
        wf = sm.workflow(s, "transaction")
    assert _report(database, wf)["pending"].entries == 4


def test_a_folder_waits_while_another_holds_the_lease(database, history, clock):
    sm, _ids = history
    with database() as s:
        assert lease.acquire(s, rollup.LEASE, "other", clock(), rollup.LEASE_TTL)
        wf = sm.workflow(s, "transaction")

    assert _fold(database, clock, "me") == 0
    assert _report(database, wf)["pending"].entries == 4  # still exact, from the history
    clock.advance(minutes=3)  # the other's lease ran out
    assert _fold(database, clock, "me") == 8


def test_a_row_committed_below_the_watermark_is_folded_when_it_appears(database, history, clock):
    """PostgreSQL hands out ids before commit: id 11 may commit after 12 was folded."""
    sm, ids = history
    _fold(database, clock)
    with database() as s:
        top = s.scalar(select(func.max(StatusChange.id)))
        wf = sm.workflow(s, "transaction")
    late = {"entity_id": ids[2], "old_status": "active", "new_status": "suspended",
            "action": "suspend", "actor": "x", "source": "api", "correlation_id": "c",
            "metadata": {}, "seconds_in_previous": 3600.0, "created_at": clock()}
    with database() as s:
        s.execute(insert(StatusChange.__table__), [{**late, "id": top + 2}])
        s.commit()
    _fold(database, clock)
    with database() as s:
        assert [g[:2] for g in s.scalar(select(ReportWatermark.gaps))] == [[top + 1, top + 1]]
        s.execute(insert(StatusChange.__table__), [{**late, "id": top + 1}])
        s.commit()

    assert _report(database, wf)["suspended"].entries == 3  # the late row, read from the gap
    _fold(database, clock)
    assert _report(database, wf)["suspended"].entries == 3
    with database() as s:
        assert s.scalar(select(ReportWatermark.gaps)) == []


def test_a_gap_nobody_fills_is_forgotten_after_the_horizon(database, history, clock):
    _sm, ids = history
    _fold(database, clock)
    with database() as s:
        top = s.scalar(select(func.max(StatusChange.id)))
        s.execute(insert(StatusChange.__table__), [{
            "id": top + 5, "entity_id": ids[2], "old_status": "active", "new_status": "expired",
            "action": "expire", "actor": "x", "source": "api", "correlation_id": "c",
            "metadata": {}, "seconds_in_previous": 60.0, "created_at": clock()}])
        s.commit()
    _fold(database, clock)
    clock.advance(minutes=11)
    _fold(database, clock)

    with database() as s:
        assert s.scalar(select(ReportWatermark.gaps)) == []
        assert s.scalar(select(ReportWatermark.last_id)) == top + 5


def test_the_stuck_list_names_entities_in_a_state_beyond_its_p90_longest_first(database,
                                                                             history, clock):
    sm, ids = history
    with database() as s:
        wf = sm.workflow(s, "transaction")
        first = queries.stuck(s, wf, clock())
    # pending's p90 is 4 h: the fourth has waited 24 h; active's is 23 h: nobody yet
    assert [(x.id, x.state, x.hours) for x in first] == [(ids[3], "pending", 24.0)]
    assert first[0].times_p90 == pytest.approx(6.0, rel=0.02)

    clock.advance(hours=2)
    with database() as s:
        later = queries.stuck(s, wf, clock())
    assert [(x.id, x.state) for x in later] == [(ids[3], "pending"), (ids[1], "active")]

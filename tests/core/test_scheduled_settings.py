"""Settings changed later, put back, and compared between two times (CONTRACT §10), on SQLite
and PostgreSQL, with a hand-moved clock."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from webapp.core.base import lease
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound, RuleViolation
from webapp.core.settings import configuration, scheduling
from webapp.core.settings.scheduling import NotPending
from webapp.core.settings.store import SettingsStore
from webapp.models import AuditEntry, OutboxEvent, SettingChange

EDITOR = Actor("eve", "config_editor")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> sessionmaker[Session]:
    engine = request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
    return sessionmaker(engine)


@pytest.fixture
def session(database):
    with database() as s:
        yield s


def _store() -> SettingsStore:
    return SettingsStore(ttl_seconds=0)


def _history(session) -> list[tuple[str, object, object, str]]:
    session.rollback()
    return [(r.key, r.old, r.new, r.actor) for r in
            session.scalars(select(SettingChange).order_by(SettingChange.id))]


def test_a_scheduled_change_waits_until_its_time_and_then_applies_once(session, clock) -> None:
    store = _store()
    row = scheduling.schedule(session, store, EDITOR, {"builder_grace_period": 120},
                              clock() + timedelta(hours=2), clock())
    assert row.status == "pending"

    clock.advance(hours=1, minutes=59)
    assert scheduling.apply_due(session, store, clock()) == []
    assert store.get(session, "builder_grace_period") == 90

    clock.advance(minutes=1)
    [applied] = scheduling.apply_due(session, store, clock())
    assert scheduling.apply_due(session, store, clock()) == []

    assert applied.status == "applied" and applied.finished_at == clock()
    assert store.get(session, "builder_grace_period") == 120
    assert _history(session) == [("builder_grace_period", 90, 120, "eve")]
    assert "settings.scheduled_apply" in session.scalars(select(AuditEntry.event_type)).all()


def test_scheduling_validates_as_saving_now_would_including_across_settings(session, clock) -> None:
    later = clock() + timedelta(days=1)
    with pytest.raises(InvalidInput) as refused:
        scheduling.schedule(session, _store(), EDITOR, {"builder_warning_period": 95}, later,
                            clock())
    assert "shorter than the grace period" in refused.value.fields["builder_warning_period"]
    for when, field in ((clock(), "effective_at"), (clock() - timedelta(minutes=1), "effective_at"),
                        (clock() + timedelta(days=400), "effective_at")):
        with pytest.raises(InvalidInput) as refused:
            scheduling.schedule(session, _store(), EDITOR, {"builder_grace_period": 100}, when,
                                clock())
        assert field in refused.value.fields
    assert scheduling.listed(session, None) == []


def test_two_workers_claiming_the_same_change_at_once_apply_it_once(database, clock) -> None:
    with database() as session:
        row_id = scheduling.schedule(session, _store(), EDITOR, {"payroll_cutoff_day": 20},
                                     clock() + timedelta(minutes=5), clock()).id
    clock.advance(minutes=5)
    start, settled = threading.Barrier(2), []

    def worker() -> None:  # each as its own process would: own session, own store, no lease
        with database() as own:
            start.wait()
            settled.append(scheduling.apply_one(own, _store(), row_id, clock()))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    with database() as session:
        assert len([r for r in settled if r is not None]) == 1
        assert _history(session) == [("payroll_cutoff_day", 25, 20, "eve")]


def test_while_another_process_applies_due_changes_this_one_leaves_them(session, clock) -> None:
    scheduling.schedule(session, _store(), EDITOR, {"payroll_cutoff_day": 20},
                        clock() + timedelta(minutes=5), clock())
    clock.advance(minutes=5)
    assert lease.acquire(session, scheduling.LEASE, "other process", clock(), timedelta(minutes=2))

    assert scheduling.apply_due(session, _store(), clock()) == []
    lease.release(session, scheduling.LEASE, "other process")
    assert [r.status for r in scheduling.apply_due(session, _store(), clock())] == ["applied"]


def test_a_cancelled_change_never_applies(session, clock) -> None:
    store = _store()
    row = scheduling.schedule(session, store, EDITOR, {"builder_grace_period": 120},
                              clock() + timedelta(hours=1), clock())
    cancelled = scheduling.cancel(session, Actor("ada", "admin"), row.id, clock())
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", "ada")

    clock.advance(hours=2)
    assert scheduling.apply_due(session, store, clock()) == []
    assert store.get(session, "builder_grace_period") == 90
    with pytest.raises(NotPending, match="cancelled already"):
        scheduling.cancel(session, EDITOR, row.id, clock())
    with pytest.raises(NotFound):
        scheduling.cancel(session, EDITOR, 999_999, clock())
    assert scheduling.listed(session) == []


def test_a_change_no_longer_valid_when_due_fails_with_the_reason_and_a_notification(
        session, clock) -> None:
    store = _store()
    row = scheduling.schedule(session, store, EDITOR, {"builder_warning_period": 80},
                              clock() + timedelta(days=1), clock())
    configuration.update(session, store, EDITOR, {"builder_grace_period": 70}, clock())

    clock.advance(days=1)
    [failed] = scheduling.apply_due(session, store, clock())

    assert failed.id == row.id and failed.status == "failed"
    assert "shorter than the grace period (70 days)" in failed.error
    assert store.get(session, "builder_warning_period") == 60
    [event] = session.scalars(select(OutboxEvent).where(
        OutboxEvent.event_type == scheduling.SCHEDULED_SETTING_FAILED))
    assert "was not applied" in event.payload["notification"]
    assert "builder warning period → 80" in event.payload["notification"]
    assert _history(session) == [("builder_grace_period", 90, 70, "eve")]


def test_reverting_a_history_entry_restores_its_old_value_as_a_new_change(session, clock) -> None:
    store = _store()
    configuration.update(session, store, EDITOR, {"builder_grace_period": 120}, clock())
    first = session.scalars(select(SettingChange)).one()
    configuration.revert(session, store, Actor("ada", "admin"), first.id, clock())

    assert store.get(session, "builder_grace_period") == 90
    assert _history(session)[-1] == ("builder_grace_period", 120, 90, "ada")
    assert "settings.revert" in session.scalars(select(AuditEntry.event_type)).all()


def test_a_revert_to_a_value_no_longer_allowed_is_refused_with_why(session, clock) -> None:
    store = _store()
    configuration.update(session, store, EDITOR, {"builder_warning_period": 80}, clock())
    configuration.update(session, store, EDITOR, {"builder_warning_period": 30}, clock())
    configuration.update(session, store, EDITOR, {"builder_grace_period": 50}, clock())
    second = session.scalars(select(SettingChange).order_by(SettingChange.id)).all()[1]

    with pytest.raises(RuleViolation, match="cannot go back to 80: it must be shorter than the "
                                            "grace period"):
        configuration.revert(session, store, EDITOR, second.id, clock())
    with pytest.raises(NotFound):
        configuration.revert(session, store, EDITOR, 999_999, clock())
    assert store.get(session, "builder_warning_period") == 30


def test_the_diff_shows_each_setting_at_two_times_and_what_changed(session, clock) -> None:
    store = _store()
    t0 = clock()
    clock.advance(hours=1)
    configuration.update(session, store, EDITOR, {"builder_grace_period": 120}, clock())
    t1 = clock() + timedelta(minutes=1)
    clock.advance(hours=1)
    configuration.update(session, store, EDITOR, {"builder_grace_period": 150,
                                                  "payroll_cutoff_day": 20}, clock())

    rows = {r["key"]: r for r in configuration.diff(session, store, t0, t1)}
    assert (rows["builder_grace_period"]["from"], rows["builder_grace_period"]["to"]) == (90, 120)
    assert [k for k, r in rows.items() if r["changed"]] == ["builder_grace_period"]
    later = {r["key"]: r for r in configuration.diff(session, store, t1, clock())}
    assert {k for k, r in later.items() if r["changed"]} == {"builder_grace_period",
                                                             "payroll_cutoff_day"}
    assert later["payroll_cutoff_day"]["from"] == 25
    with pytest.raises(InvalidInput):
        configuration.diff(session, store, clock(), t0)

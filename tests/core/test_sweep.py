"""The grace-period sweep, on an injected clock: warnings, inactivation, reactivation, forecasts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.factories import count_rows, make_entity
from webapp.core.base.transactions import write_transaction
from webapp.core.sweeps import runs as sweep_runs
from webapp.core.sweeps import sweep as sweeping
from webapp.core.sweeps.sweep import forecast, sweep
from webapp.models import AuditEntry, Entity, OutboxEvent, StatusChange, SweepRun


def _history(session, entity_id):
    session.rollback()
    return list(session.scalars(select(StatusChange).where(StatusChange.entity_id == entity_id)
                                .order_by(StatusChange.id)))


def _warnings(session):
    session.rollback()
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "EntityWarned")))


def _fresh(manager, session, entity):
    session.rollback()
    return manager.get(session, entity.id)


# ------------------------------------------------------------------------------- warnings


def test_a_builder_quiet_past_the_warning_period_is_warned_once(manager, session, support, clock):
    builder = make_entity(manager, session, support, "builder", name="Acme Homes")
    clock.advance(days=59, hours=23)
    assert sweep(session, manager, clock()).warned == 0

    clock.advance(hours=1)
    first = sweep(session, manager, clock())
    clock.advance(days=1)
    second = sweep(session, manager, clock())

    assert (first.warned, second.warned) == (1, 0)
    assert first.items == [{"id": builder.id, "type": "builder", "name": "Acme Homes",
                            "action": "warn", "days_quiet": 60}]
    [event] = _warnings(session)
    assert event.entity_id == builder.id
    assert event.payload["days_quiet"] == 60
    assert event.payload["grace_period"] == 90
    assert _fresh(manager, session, builder).warned_at == clock.now - timedelta(days=1)


def _warned_payloads(manager, session, support, clock, auto_inactivate=True):
    """Three builders quiet past the warning period (60 days, grace 90), their last activity
    at whole seconds, with microseconds, and a microsecond short of a day boundary; the
    EntityWarned payloads the sweep wrote for them, and what each should say."""
    if not auto_inactivate:
        with write_transaction(session):
            manager.settings.apply(session, {"builder_auto_inactivate": False}, "cora", clock())
    base = clock.now.replace(microsecond=0)
    quiet = {"whole seconds": base - timedelta(days=61),
             "microseconds": base - timedelta(days=70, seconds=5, microseconds=123456),
             "a microsecond short": clock.now - timedelta(days=64) + timedelta(microseconds=1)}
    made = {label: make_entity(manager, session, support, "builder", name=label,
                               last_activity_at=at) for label, at in quiet.items()}
    report = sweep(session, manager, clock.now)
    session.rollback()
    found = {e.entity_id: e.payload for e in session.scalars(
        select(OutboxEvent).where(OutboxEvent.event_type == "EntityWarned"))}
    expected = {e.id: {
        "event": "EntityWarned", "entity_id": e.id, "type": "builder", "name": e.name,
        "status": "active", "parent_id": None, "days_quiet": (clock.now - quiet[e.name]).days,
        "warning_period": 60, "grace_period": 90,
        "inactive_on": (quiet[e.name] + timedelta(days=90)).isoformat() if auto_inactivate else None,
        "source": "sweep", "actor": "sweeper", "correlation_id": report.correlation_id}
        for e in made.values()}
    return report, found, expected


def test_a_warning_says_how_long_the_entity_was_quiet_and_when_it_goes_inactive(
        manager, session, support, clock):
    report, found, expected = _warned_payloads(manager, session, support, clock)

    assert report.warned == 3
    assert found == expected
    assert sorted(p["days_quiet"] for p in found.values()) == [61, 63, 70]


def test_without_auto_inactivation_a_warning_names_no_inactive_date(manager, session, support,
                                                                     clock):
    _report, found, expected = _warned_payloads(manager, session, support, clock, False)

    assert found == expected
    assert {p["inactive_on"] for p in found.values()} == {None}


@pytest.mark.postgres
def test_warnings_on_postgresql_say_what_they_say_on_sqlite(pg_session, clock, support, admin):
    from tests.factories import make_manager

    manager = make_manager(pg_session, clock, admin)
    report, found, expected = _warned_payloads(manager, pg_session, support, clock)

    assert report.warned == 3
    assert found == expected


def test_activity_ends_the_quiet_spell_so_a_later_one_is_warned_again(manager, session, support,
                                                                        clock):
    builder = make_entity(manager, session, support, "builder")
    clock.advance(days=60)
    sweep(session, manager, clock())
    manager.record_activity(session, support, builder.id, "called the office")

    clock.advance(days=59)
    assert sweep(session, manager, clock()).warned == 0
    clock.advance(days=1)
    assert sweep(session, manager, clock()).warned == 1
    assert len(_warnings(session)) == 2


# --------------------------------------------------------------------------- inactivation


def test_a_builder_is_made_inactive_at_the_grace_period_and_not_before(manager, session, support,
                                                                        clock):
    builder = make_entity(manager, session, support, "builder", name="Quiet Builders")
    clock.advance(days=89, hours=23, minutes=59)
    assert sweep(session, manager, clock()).inactivated == 0
    assert _fresh(manager, session, builder).status == "active"

    clock.advance(minutes=1)
    report = sweep(session, manager, clock())

    assert report.inactivated == 1
    assert _fresh(manager, session, builder).status == "inactive"
    change = _history(session, builder.id)[-1]
    assert (change.old_status, change.new_status, change.source, change.actor) == (
        "active", "inactive", "sweep", "sweeper")
    assert change.reason == "no activity for 90 days (grace period 90)"


def test_each_type_uses_its_own_grace_period_and_inactive_state(manager, session, support, clock):
    builder = make_entity(manager, session, support, "builder")
    community = make_entity(manager, session, support, "community", parent_id=builder.id)
    prop = make_entity(manager, session, support, "property", parent_id=community.id)
    rep = make_entity(manager, session, support, "sales_rep", parent_id=builder.id)
    clock.advance(days=60)

    report = sweep(session, manager, clock())

    # Property and sales rep: grace 60; builder: warning 60; community: warning 120.
    assert {(i["type"], i["action"]) for i in report.items} == {
        ("property", "inactivate"), ("sales_rep", "inactivate"), ("builder", "warn")}
    assert _fresh(manager, session, prop).status == "off_market"
    assert _fresh(manager, session, rep).status == "inactive"
    assert _fresh(manager, session, community).status == "active"


def test_a_sweep_run_twice_at_the_same_moment_changes_nothing_the_second_time(
        manager, session, support, clock):
    for _ in range(3):
        make_entity(manager, session, support, "sales_rep")
    clock.advance(days=61)
    assert sweep(session, manager, clock()).inactivated == 3
    before = count_rows(session)

    again = sweep(session, manager, clock())

    assert (again.warned, again.inactivated, again.reactivated) == (0, 0, 0)
    assert count_rows(session) == before


def test_the_sweep_works_through_many_entities_in_chunks(manager, session, support, clock,
                                                         monkeypatch):
    monkeypatch.setattr(sweeping, "CHUNK", 2)
    reps = [make_entity(manager, session, support, "sales_rep") for _ in range(5)]
    clock.advance(days=60)

    report = sweep(session, manager, clock())

    assert report.inactivated == 5
    assert {_fresh(manager, session, r).status for r in reps} == {"inactive"}


def test_a_rule_may_refuse_and_the_refusal_is_reported(manager, session, support, clock):
    # Imported with activity long ago, but only 10 days in the system: too young to deactivate.
    builder = make_entity(manager, session, support, "builder", name="Young Homes",
                          last_activity_at=clock.now - timedelta(days=200))
    clock.advance(days=10)

    report = sweep(session, manager, clock())

    assert report.inactivated == 0
    assert report.refused == 1
    assert report.errors == [{"id": builder.id, "type": "builder", "name": "Young Homes",
                              "messages": [("Builder 'Young Homes' is 10 days old; it must be at "
                                            "least 30 days old to deactivate.")]}]
    assert _fresh(manager, session, builder).status == "active"


def test_turning_auto_inactivation_off_leaves_quiet_entities_warned_but_active(
        manager, session, support, clock, config_editor):
    with write_transaction(session):
        manager.settings.apply(session, {"sales_rep_auto_inactivate": False}, "cora", clock())
    rep = make_entity(manager, session, support, "sales_rep")
    clock.advance(days=100)

    report = sweep(session, manager, clock())

    assert (report.warned, report.inactivated) == (1, 0)
    assert _fresh(manager, session, rep).status == "active"


# --------------------------------------------------------------------------- reactivation


def test_recording_activity_on_a_swept_builder_makes_it_active_again(manager, session, support,
                                                                     clock):
    builder = make_entity(manager, session, support, "builder")
    clock.advance(days=95)
    sweep(session, manager, clock())
    assert _fresh(manager, session, builder).status == "inactive"

    outcome = manager.record_activity(session, support, builder.id, "new listing")

    assert outcome.entity.status == "active"
    change = _history(session, builder.id)[-1]
    assert (change.old_status, change.new_status, change.source) == ("inactive", "active",
                                                                     "activity")
    assert _fresh(manager, session, builder).warned_at is None


def test_activity_that_arrived_without_reactivating_is_caught_up_by_the_sweep(
        manager, session, support, clock):
    prop = make_entity(manager, session, support, "property")
    clock.advance(days=61)
    sweep(session, manager, clock())
    clock.advance(days=2)
    with write_transaction(session):  # e.g. an integration writing activity straight in
        session.execute(update(Entity).where(Entity.id == prop.id)
                        .values(last_activity_at=clock.now - timedelta(days=1)))

    report = sweep(session, manager, clock())

    assert report.reactivated == 1
    assert report.items[0]["action"] == "reactivate"
    assert _fresh(manager, session, prop).status == "available"
    assert _history(session, prop.id)[-1].source == "activity"


# ------------------------------------------------------------------- dry runs and forecasts


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(manager, session, support, clock):
    make_entity(manager, session, support, "sales_rep")
    make_entity(manager, session, support, "builder")
    clock.advance(days=70)
    before = count_rows(session)

    report = sweep(session, manager, clock(), dry_run=True)

    assert (report.warned, report.inactivated, report.dry_run) == (1, 1, True)
    assert count_rows(session) == before


def test_a_forecast_lists_exactly_what_a_later_real_run_does(manager, session, support, clock):
    make_entity(manager, session, support, "builder")
    clock.advance(days=20)
    make_entity(manager, session, support, "sales_rep")
    make_entity(manager, session, support, "property")
    make_entity(manager, session, support, "builder", last_activity_at=clock.now - timedelta(days=85))
    in_30_days = clock.now + timedelta(days=30)

    predicted = sweep(session, manager, in_30_days, dry_run=True)
    clock.now = in_30_days
    actual = sweep(session, manager, clock())

    assert predicted.items and predicted.items == actual.items
    assert (predicted.warned, predicted.inactivated, predicted.refused) == (
        actual.warned, actual.inactivated, actual.refused)


def test_the_impact_forecast_takes_setting_values_that_are_not_saved_yet(manager, session,
                                                                         support, clock):
    make_entity(manager, session, support, "builder")
    clock.advance(days=45)

    as_saved = forecast(session, manager, clock())
    proposed = forecast(session, manager, clock(),
                        {"builder_grace_period": 40, "builder_warning_period": 30})

    assert as_saved.by_type.get("builder", {}).get("inactivate", 0) == 0
    assert proposed.by_type["builder"]["inactivate"] == 1
    assert manager.settings.get(session, "builder_grace_period") == 90


def test_a_counts_only_forecast_agrees_with_the_exact_one_when_nothing_is_refused(
        manager, session, support, clock):
    for days in (10, 50, 70, 100):
        make_entity(manager, session, support, "sales_rep",
                    last_activity_at=clock.now - timedelta(days=days))
        make_entity(manager, session, support, "property",
                    last_activity_at=clock.now - timedelta(days=days))

    exact = forecast(session, manager, clock(), {"sales_rep_grace_period": 80})
    quick = forecast(session, manager, clock(), {"sales_rep_grace_period": 80}, exact=False)

    assert quick.by_type == exact.by_type == {
        "property": {"warn": 1, "inactivate": 2, "reactivate": 0, "refused": 0},
        "sales_rep": {"warn": 2, "inactivate": 1, "reactivate": 0, "refused": 0}}
    assert (quick.scanned, quick.items) == (exact.scanned, [])


# --------------------------------------------------------------------------- runs on record


def test_a_real_run_is_recorded_with_its_counts_and_announced(manager, session, support, clock):
    make_entity(manager, session, support, "sales_rep", name="Ana Silva")
    make_entity(manager, session, support, "builder")
    clock.advance(days=61)

    report = sweep_runs.run(session, manager, clock)

    run = session.get(SweepRun, report.run_id)
    assert (run.warned, run.inactivated, run.error, run.triggered_by) == (1, 1, None, "sweeper")
    assert run.started_at == clock.now and run.finished_at >= run.started_at
    [done] = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "SweepCompleted"))
    assert done.payload["inactivated"] == 1
    assert done.payload["examples"][0]["name"] == "Ana Silva"
    audited = session.scalars(select(AuditEntry.event_type)).all()
    assert {"sweep.inactivate", "sweep.run"} <= set(audited)


def test_refusals_are_kept_as_the_runs_error(manager, session, support, clock):
    make_entity(manager, session, support, "builder", last_activity_at=clock.now - timedelta(days=99))

    report = sweep_runs.run(session, manager, clock)

    error = session.get(SweepRun, report.run_id).error
    assert error.startswith("1 refused by the workflow's rules, e.g. builder")
    assert "at least 30 days old" in error


def test_a_sweep_that_loses_its_lease_stops_before_writing(manager, session, support, clock):
    rep = make_entity(manager, session, support, "sales_rep")
    clock.advance(days=61)

    with pytest.raises(sweeping.SweepInterrupted, match="lease was lost"):
        sweep(session, manager, clock(), guard=lambda: "the lease was lost")

    assert _fresh(manager, session, rep).status == "active"


def test_the_worker_sweeps_only_when_the_interval_has_passed(manager, session, clock):
    assert sweep_runs.is_due(session, manager, clock())
    sweep_runs.run(session, manager, clock)
    clock.advance(minutes=59)
    assert sweep_runs.run(session, manager, clock, only_if_due=True) is None
    clock.advance(minutes=1)
    assert sweep_runs.run(session, manager, clock, only_if_due=True) is not None
    assert session.query(SweepRun).count() == 2


def test_a_sweep_stopped_by_shutdown_keeps_what_it_did_and_says_why(manager, session, support,
                                                                    clock):
    make_entity(manager, session, support, "sales_rep")
    clock.advance(days=61)

    with pytest.raises(sweeping.SweepInterrupted):
        sweep_runs.run(session, manager, clock, stopping=lambda: True)

    run = session.scalars(select(SweepRun)).one()
    assert run.error == "SweepInterrupted: the process is shutting down"
    assert run.finished_at is not None
    assert sweep_runs.is_due(session, manager, clock() + timedelta(hours=1))

"""Settings that workflows declare (issue 13): the packs bring their grace periods, thresholds
and limits; an imported type brings its own, and a sweep without its settings is refused or
reported, never skipped in silence."""
from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from webapp.core.base.errors import InvalidInput
from webapp.core.base.transactions import write_transaction
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.core.settings import configuration
from webapp.core.settings.store import GENERIC
from webapp.core.sweeps import runs as sweep_runs
from webapp.core.sweeps.sweep import sweep
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows import packs, registry
from webapp.models import SweepRun, WorkflowDefinition

GRACE = {"type": "integer", "default": 30, "min": 1, "max": 365, "unit": "days",
         "label": "grace period", "description": "Days without activity before a gizmo rests."}
WARNING = {"type": "integer", "default": 20, "min": 1, "max": 365, "unit": "days",
           "below": "gizmo_grace_period", "description": "Days without activity before a warning."}


def gizmo(settings: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A small swept type that no pack has: ``in_use`` goes ``resting`` when quiet."""
    doc = {"label": "Gizmo", "initial": "in_use",
           "states": {"in_use": {"category": "active"}, "resting": {"category": "inactive"}},
           "transitions": [{"name": "rest", "from": ["in_use"], "to": "resting"},
                           {"name": "use", "from": ["resting"], "to": "in_use"}],
           "sweep": {"from": ["in_use"], "inactive": "resting", "reactivate_to": "in_use"},
           **extra}
    if settings is not None:
        doc["settings"] = settings
    return doc


SWEPT_GIZMO = gizmo({"gizmo_grace_period": GRACE, "gizmo_warning_period": WARNING})


def import_types(manager: StateManager, session, admin, clock, **types: dict) -> list[str]:
    with write_transaction(session):
        return packs.import_document(session, manager.workflows,
                                     {"pack": "gadgets", "types": types}, admin, clock())


def quiet_gizmo(manager: StateManager, session, support, clock, days: int):
    return manager.create_entity(session, support, type="gizmo", name=f"Gizmo quiet {days}",
                                 last_activity_at=clock() - timedelta(days=days))


# --------------------------------------------------------------- the packs declare theirs


def test_the_generic_store_declares_nothing_a_pack_owns():
    owned = [k for k in GENERIC if k.split("_")[0] in ("builder", "community", "property",
                                                         "sales", "payroll", "attendance")]
    assert owned == []


def test_the_packs_declare_the_contracts_keys_and_defaults(manager, session):
    values = manager.settings.all(session)

    assert {t: (values[f"{t}_grace_period"], values[f"{t}_warning_period"])
            for t in ("builder", "community", "property", "sales_rep")} == {
        "builder": (90, 60), "community": (180, 120), "property": (60, 45), "sales_rep": (60, 45)}
    assert values["community_limited_availability_threshold"] == 10
    assert values["payroll_cutoff_day"] == 25
    assert values["property_bulk_operation_max"] == 1000
    declared = {s.key for wf in manager.workflows.all(session).values() for s in wf.settings}
    assert {"builder_grace_period", "payroll_cutoff_day", "property_bulk_operation_max"} <= declared


# ------------------------------------------------- a sweep without its settings is said


def test_importing_a_swept_type_without_its_settings_is_refused_naming_them(
        manager, session, admin, clock):
    with pytest.raises(InvalidInput) as refused:
        import_types(manager, session, admin, clock, gizmo=gizmo())

    problems = refused.value.fields["definition"]
    assert "The sweep reads setting 'gizmo_grace_period', which is not declared" in problems
    assert "The sweep reads setting 'gizmo_warning_period', which is not declared" in problems
    session.rollback()
    assert "gizmo" not in manager.workflows.all(session)


def test_a_stored_swept_type_without_settings_is_reported_by_every_sweep(
        manager, session, admin, support, clock):
    # A workflow saved before its settings were checked (an older database): stored as is.
    with write_transaction(session):
        session.add(WorkflowDefinition(entity_type="gizmo", pack="gadgets", definition=gizmo(),
                                       updated_at=clock(), updated_by="old version"))
    manager.workflows.invalidate()
    quiet = quiet_gizmo(manager, session, support, clock, days=400)

    dry = sweep(session, manager, clock(), dry_run=True)
    real = sweep_runs.run(session, manager, clock)

    expected = ("Gizmo is not swept: its sweep reads 'gizmo_grace_period' and "
                "'gizmo_warning_period', which are not declared; add them to the workflow's "
                "\"settings\".")
    assert dry.problems == real.problems == [expected]
    assert dry.to_dict()["problems"] == [expected]
    assert expected in session.get(SweepRun, real.run_id).error
    assert manager.get(session, quiet.id).status == "in_use"


# ----------------------------------------------- a sweep with its settings is swept


def test_an_imported_type_with_its_settings_is_swept_with_them(manager, session, admin, support,
                                                               clock):
    assert import_types(manager, session, admin, clock, gizmo=SWEPT_GIZMO) == ["gizmo"]
    # In force at once (no waiting for a cache), next to the packs' and the generic ones.
    values = manager.settings.all(session)
    assert (values["gizmo_grace_period"], values["gizmo_warning_period"]) == (30, 20)
    assert values["builder_grace_period"] == 90 and values["sweep_interval_minutes"] == 60
    resting = quiet_gizmo(manager, session, support, clock, days=31)
    warned = quiet_gizmo(manager, session, support, clock, days=21)
    fresh = quiet_gizmo(manager, session, support, clock, days=5)

    report = sweep(session, manager, clock())

    assert report.problems == []
    assert report.by_type["gizmo"] == {"warn": 1, "inactivate": 1, "reactivate": 0, "refused": 0}
    session.rollback()
    assert [manager.get(session, e.id).status for e in (resting, warned, fresh)] == [
        "resting", "in_use", "in_use"]
    assert manager.get(session, warned.id).warned_at == clock()


def test_an_imported_types_settings_are_edited_like_any_other(manager, session, admin, support,
                                                               clock):
    import_types(manager, session, admin, clock, gizmo=SWEPT_GIZMO)
    quiet = quiet_gizmo(manager, session, support, clock, days=12)

    configuration.update(session, manager.settings, admin,
                         {"gizmo_grace_period": 10, "gizmo_warning_period": 5}, clock())
    with pytest.raises(InvalidInput) as refused:
        configuration.update(session, manager.settings, admin, {"gizmo_warning_period": 10},
                             clock())

    assert refused.value.fields == {
        "gizmo_warning_period": "must be shorter than the grace period (10 days)"}
    described = configuration.describe(session, manager.settings)["gizmo_grace_period"]
    assert (described["value"], described["default"]) == (10, 30)
    assert described["description"] == GRACE["description"]
    assert sweep(session, manager, clock()).inactivated == 1
    session.rollback()
    assert manager.get(session, quiet.id).status == "resting"


def test_a_store_started_after_the_import_has_the_imported_settings(
        manager, session, admin, clock):
    import_types(manager, session, admin, clock, gizmo=SWEPT_GIZMO)

    restarted = StateManager(clock=clock)  # another process, or the app's next start

    assert restarted.settings.get(session, "gizmo_grace_period") == 30
    assert "gizmo_warning_period" in configuration.describe(session, restarted.settings)


# -------------------------------------------------------------------- the bulk limit


def test_any_type_may_name_a_setting_that_caps_it_in_one_bulk_request(
        manager, session, admin, support, clock):
    cap = {"type": "integer", "default": 2, "min": 1, "max": 1000,
           "description": "Most gizmos one bulk request may change."}
    capped = gizmo({**SWEPT_GIZMO["settings"], "gizmo_bulk_max": cap}, bulk_limit="gizmo_bulk_max")
    import_types(manager, session, admin, clock, gizmo=capped)
    ids = tuple(quiet_gizmo(manager, session, support, clock, days=1).id for _ in range(3))

    with pytest.raises(InvalidInput) as refused:
        bulk.check_limits(session, manager, BulkRequest("transition", ids))

    assert refused.value.fields == {"ids": "At most 2 gizmos per request."}
    assert "setting gizmo_bulk_max" in refused.value.message
    bulk.check_limits(session, manager, BulkRequest("transition", ids[:2]))


# --------------------------------------------------------------------- static checks


def problems_of(doc: dict[str, Any]) -> list[str]:
    return registry.problems(wfmod.parse("gizmo", doc), {"gizmo"})


def test_a_swept_type_with_its_settings_declared_has_no_problems():
    assert problems_of(SWEPT_GIZMO) == []


@pytest.mark.parametrize("change, complaint", [
    (lambda d: d["settings"].pop("gizmo_warning_period"),
     "The sweep reads setting 'gizmo_warning_period', which is not declared"),
    (lambda d: d["sweep"].update(grace_setting="gizmo_rest_days"),
     "The sweep reads setting 'gizmo_rest_days', which is not declared"),
    (lambda d: d["settings"].update(gizmo_auto_inactivate=dict(GRACE)),
     "The sweep reads setting 'gizmo_auto_inactivate' as true or false, but it is declared as int"),
    (lambda d: d.update(bulk_limit="gizmo_bulk_max"),
     "The bulk limit reads setting 'gizmo_bulk_max', which is not declared"),
    (lambda d: d["settings"]["gizmo_warning_period"].update(below="gizmo_rest_days"),
     "Setting 'gizmo_warning_period' (below) reads setting 'gizmo_rest_days', which is not"),
    (lambda d: d["settings"].update(sweep_interval_minutes=dict(GRACE)),
     "Setting 'sweep_interval_minutes' is a generic setting; a workflow cannot declare it."),
    (lambda d: d.update(derived=[{"child_type": "gizmo", "count_states": ["in_use"],
                                  "trigger_states": ["resting"], "applies_in": ["in_use"],
                                  "thresholds": [{"at_most": "gizmo_few", "to": "resting"}]}]),
     "A derived status reads setting 'gizmo_few', which is not declared"),
])
def test_a_setting_the_workflow_reads_but_does_not_declare_is_reported(change, complaint):
    doc = copy.deepcopy(SWEPT_GIZMO)
    change(doc)
    found = problems_of(doc)
    assert any(complaint in p for p in found), found


@pytest.mark.parametrize("spec, complaint", [
    ({**GRACE, "defualt": 30}, "gizmo_grace_period.defualt is not a known key"),
    ({**GRACE, "type": "text"}, "type must be one of integer or boolean"),
    ({**GRACE, "default": 400}, "the default must be at most 365"),
    ({**GRACE, "default": "30"}, "default must be a whole number or true or false"),
    ({k: v for k, v in GRACE.items() if k != "max"}, "needs whole-number min and max"),
    ({k: v for k, v in GRACE.items() if k != "description"}, "description is required"),
    ({"type": "boolean", "default": 1, "description": "On?"}, "must be true or false"),
])
def test_a_malformed_setting_declaration_is_refused_naming_it(spec, complaint):
    doc = gizmo({"gizmo_grace_period": spec, "gizmo_warning_period": WARNING})
    with pytest.raises(InvalidInput) as refused:
        wfmod.parse("gizmo", doc)
    assert complaint in refused.value.message


def test_two_types_may_not_declare_one_setting_differently(manager, session, admin, clock):
    sprocket = gizmo({"gizmo_grace_period": {**GRACE, "default": 45},
                      "gizmo_warning_period": WARNING},
                     sweep={"from": ["in_use"], "inactive": "resting", "reactivate_to": "in_use",
                            "grace_setting": "gizmo_grace_period",
                            "warning_setting": "gizmo_warning_period"})
    import_types(manager, session, admin, clock, gizmo=SWEPT_GIZMO)

    with pytest.raises(InvalidInput) as refused:
        import_types(manager, session, admin, clock, sprocket=sprocket)

    assert ("Setting 'gizmo_grace_period' is declared differently by 'gizmo'"
            in refused.value.fields["definition"])


def test_declared_settings_and_named_sweep_settings_survive_export_and_import():
    doc = copy.deepcopy(SWEPT_GIZMO)
    doc["sweep"]["grace_setting"] = "gizmo_grace_period"  # the implied name: left implied
    doc["settings"]["gizmo_rest_switch"] = {"type": "boolean", "default": False,
                                            "description": "Let the sweep rest gizmos."}
    doc["sweep"]["auto_setting"] = "gizmo_rest_switch"
    wf = wfmod.parse("gizmo", doc)

    written = wfmod.to_document(wf)

    assert written["sweep"] == {"from": ["in_use"], "inactive": "resting",
                                "reactivate_to": "in_use", "auto_setting": "gizmo_rest_switch"}
    assert list(written["settings"]) == ["gizmo_grace_period", "gizmo_warning_period",
                                         "gizmo_rest_switch"]
    assert written["settings"]["gizmo_warning_period"]["below"] == "gizmo_grace_period"
    assert wfmod.parse("gizmo", written) == wf


def test_the_built_in_packs_still_import_cleanly(session, admin, clock):
    manager = StateManager(clock=clock)
    with write_transaction(session):
        loaded = packs.install_packs(session, manager.workflows, admin, clock())
    assert "attendance" in loaded and "property" in loaded
    stored = session.scalar(select(WorkflowDefinition.definition)
                            .where(WorkflowDefinition.entity_type == "property"))
    assert stored["bulk_limit"] == "property_bulk_operation_max"
    assert stored["settings"]["property_grace_period"]["default"] == 60

"""Runtime settings: strict types, bounds, cross-field checks, overrides only, history."""
from __future__ import annotations

import pytest

from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput
from webapp.core.settings import configuration
from webapp.core.settings.store import REGISTRY, SettingsStore
from webapp.models import SettingChange, SettingOverride

EDITOR = Actor("eve", "config_editor")
NUMBERS = [s for s in REGISTRY.values() if s.type is int]
SWITCHES = [s for s in REGISTRY.values() if s.type is bool]
SWEPT = ("builder", "community", "property", "sales_rep")


@pytest.mark.parametrize("setting", NUMBERS, ids=lambda s: s.key)
def test_every_number_setting_refuses_values_outside_its_bounds(session, setting) -> None:
    store = SettingsStore()
    for bad in (setting.minimum - 1, setting.maximum + 1, 1.5, "10", None, True):
        with pytest.raises(InvalidInput) as refused:
            store.validate(session, {setting.key: bad})
        assert setting.key in refused.value.fields


@pytest.mark.parametrize("setting", SWITCHES, ids=lambda s: s.key)
def test_every_switch_accepts_only_true_or_false(session, setting) -> None:
    store = SettingsStore()
    assert store.validate(session, {setting.key: False}) == {setting.key: False}
    with pytest.raises(InvalidInput):
        store.validate(session, {setting.key: "false"})


@pytest.mark.parametrize("type_", SWEPT)
def test_a_warning_period_must_be_shorter_than_its_grace_period(session, type_) -> None:
    store = SettingsStore()
    grace = REGISTRY[f"{type_}_grace_period"].default
    with pytest.raises(InvalidInput) as refused:
        store.validate(session, {f"{type_}_warning_period": grace})
    assert f"{type_}_warning_period" in refused.value.fields
    assert store.validate(session, {f"{type_}_warning_period": grace - 1})


def test_only_values_that_differ_from_the_default_are_stored(session, clock) -> None:
    store = SettingsStore(ttl_seconds=0)
    configuration.update(session, store, EDITOR, {"builder_grace_period": 120}, clock())
    assert session.query(SettingOverride).count() == 1
    configuration.update(session, store, EDITOR, {"builder_grace_period": 90}, clock())
    assert session.query(SettingOverride).count() == 0
    assert [c.new for c in configuration.history(session)] == [90, 120]


def test_reverting_a_change_restores_the_old_value_and_is_itself_recorded(session, clock) -> None:
    store = SettingsStore(ttl_seconds=0)
    configuration.update(session, store, EDITOR, {"payroll_cutoff_day": 20}, clock())
    change = session.query(SettingChange).one()
    configuration.revert(session, store, EDITOR, change.id, clock())
    assert store.get(session, "payroll_cutoff_day") == 25
    assert session.query(SettingChange).count() == 2


def test_a_bad_value_stored_by_hand_never_crashes_a_read(session) -> None:
    session.add(SettingOverride(key="payroll_cutoff_day", value="soon"))
    session.commit()
    assert SettingsStore().get(session, "payroll_cutoff_day") == 25

"""The settings editor: grouped, validated inline, an impact preview, history with revert."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import load_packs
from tests.helpers import Clock, csrf_token
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.core.settings.store import REGISTRY
from webapp.core.sweeps import sweep
from webapp.extensions import db
from webapp.models import AuditEntry, SettingChange

HTMX = {"HX-Request": "true"}
SEEDER = Actor("seeder", "admin")


def form_values(**changes: object) -> dict[str, object]:
    """The editor's form as a browser posts it: every setting, with ``changes`` applied."""
    values: dict[str, object] = {}
    for key, s in REGISTRY.items():
        value = changes.get(key, s.default)
        if s.type is bool:
            if value:
                values[key] = "y"
        else:
            values[key] = str(value)
    return values


def post_form(client: FlaskClient, path: str, headers: dict | None = None, **changes: object):
    token = csrf_token(client.get("/settings/").text)
    return client.post(path, data={"csrf_token": token, **form_values(**changes)},
                       headers=headers or {})


@pytest.fixture
def quiet_builders(app: Flask, clock: Clock) -> None:
    """Builders 40 days old, quiet for 45, 70 and 100 days (grace 90 / warning 60 by default)."""
    with app.app_context():
        sm = load_packs(db.session)
        for days in (45, 70, 100):
            sm.create_entity(db.session, SEEDER, type="builder", name=f"Quiet {days}",
                             last_activity_at=clock() - timedelta(days=days - 40))
    clock.advance(days=40)  # old enough for the builder's 30-day minimum age rule


def test_everyone_sees_the_settings_grouped_but_only_editors_get_a_save_button(login_as) -> None:
    auditor_page = login_as("auditor").get("/settings/").text
    editor_page = login_as("config_editor").get("/settings/").text
    assert "Grace periods" in auditor_page and "Thresholds" in auditor_page
    assert "Save settings" not in auditor_page
    assert "Save settings" in editor_page


def test_a_config_editor_saves_a_grace_period_and_it_is_in_force(app: Flask, login_as) -> None:
    client = login_as("config_editor")
    response = post_form(client, "/settings/", builder_grace_period=120)
    assert response.status_code == 302
    assert "builder grace period: 90 → 120" in client.get("/settings/").text
    with app.app_context():
        assert StateManager.get_instance().settings.get(db.session, "builder_grace_period") == 120
        assert db.session.query(AuditEntry).filter_by(event_type="settings.update").count() == 1


def test_a_warning_period_longer_than_the_grace_period_is_refused_inline(app: Flask, login_as) -> None:
    client = login_as("config_editor")
    response = post_form(client, "/settings/validate", HTMX, builder_warning_period=95)
    assert response.status_code == 200
    assert "Must be shorter than the grace period (90 days)." in response.text
    assert "<html" not in response.text and "<input" not in response.text  # error boxes only
    refused = post_form(client, "/settings/", builder_warning_period=95)
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.query(SettingChange).count() == 0


def test_out_of_bounds_and_non_numbers_get_form_messages_not_errors(login_as) -> None:
    client = login_as("admin")
    response = post_form(client, "/settings/", payroll_cutoff_day=40, property_grace_period="abc")
    assert response.status_code == 400
    assert "Use 1 to 31 day of month." in response.text
    assert "Enter a whole number." in response.text or "Not a valid integer value." in response.text


def test_support_staff_may_not_save_settings(login_as) -> None:
    client = login_as("support")
    assert post_form(client, "/settings/", builder_grace_period=120).status_code == 403


def test_the_impact_preview_matches_a_later_dry_run_sweep(app: Flask, login_as, quiet_builders,
                                                          clock: Clock) -> None:
    client = login_as("config_editor")
    preview = post_form(client, "/settings/preview", HTMX, builder_grace_period=65,
                        builder_warning_period=30)
    assert "With a builder grace period of <strong>65 days</strong>" in preview.text
    # 70 and 100 days quiet are past 65; 45 days is past the 30-day warning.
    text = " ".join(preview.text.split())
    assert "<strong>2</strong> builders would become inactive and <strong>1</strong> would be warned" in text
    post_form(client, "/settings/", builder_grace_period=65, builder_warning_period=30)
    with app.app_context():
        report = sweep.forecast(db.session, StateManager.get_instance(), clock())
        assert report.by_type["builder"]["inactivate"] == 2


def test_a_setting_change_can_be_reverted_from_the_history(app: Flask, login_as) -> None:
    client = login_as("admin")
    post_form(client, "/settings/", community_limited_availability_threshold=4)
    with app.app_context():
        change_id = db.session.query(SettingChange).one().id
    token = csrf_token(client.get("/settings/").text)
    response = client.post(f"/settings/changes/{change_id}/revert", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        store = StateManager.get_instance().settings
        assert store.get(db.session, "community_limited_availability_threshold") == 10

"""GET/PATCH /api/v1/config and its history (CONTRACT.md §6), and settings across processes."""
from __future__ import annotations

import pytest
from flask import Flask

from tests.factories import make_token, make_user
from webapp.core.changes.manager import StateManager
from webapp.core.settings.store import SettingsStore
from webapp.extensions import db


def bearer(app: Flask, role: str) -> dict[str, str]:
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role=role))
    return {"Authorization": f"Bearer {token}"}


def test_config_lists_every_setting_with_value_default_and_description(app: Flask) -> None:
    body = app.test_client().get("/api/v1/config", headers=bearer(app, "auditor")).json
    assert body["builder_grace_period"]["value"] == 90
    assert body["builder_grace_period"]["default"] == 90
    assert body["builder_grace_period"]["description"]


def test_patch_changes_settings_and_history_shows_who_and_what(app: Flask) -> None:
    client, headers = app.test_client(), bearer(app, "config_editor")
    response = client.patch("/api/v1/config", json={"property_grace_period": 75}, headers=headers)
    assert response.status_code == 200
    assert response.json["property_grace_period"]["value"] == 75
    history = client.get("/api/v1/config/history", headers=headers).json["items"]
    assert history[0]["key"] == "property_grace_period"
    assert (history[0]["old"], history[0]["new"]) == (60, 75)


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"builder_grace_period": "90"}, "builder_grace_period", "must be a number"),
    ({"builder_grace_period": 0}, "builder_grace_period", "must be at least 1"),
    ({"no_such_setting": 1}, "no_such_setting", "unknown setting"),
    ({"builder_warning_period": 200}, "builder_warning_period", "must be shorter than the grace"),
    ({"builder_auto_inactivate": "yes"}, "builder_auto_inactivate", "must be true or false"),
])
def test_bad_values_are_refused_with_an_error_per_key_and_nothing_saved(
        app: Flask, body: dict, field: str, message: str) -> None:
    client, headers = app.test_client(), bearer(app, "admin")
    response = client.patch("/api/v1/config", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_input"
    assert message in response.json["fields"][field]
    assert client.get("/api/v1/config/history", headers=headers).json["items"] == []


def test_support_may_read_but_not_change_the_configuration(app: Flask) -> None:
    client, headers = app.test_client(), bearer(app, "support")
    assert client.get("/api/v1/config", headers=headers).status_code == 200
    assert client.patch("/api/v1/config", json={"builder_grace_period": 80},
                        headers=headers).status_code == 403


def test_a_change_through_one_app_is_seen_by_another_on_the_same_database(make_app) -> None:
    first = make_app()
    second = make_app(database_url=first.config["SQLALCHEMY_DATABASE_URI"], migrate=False)
    other_process = SettingsStore(ttl_seconds=0)  # what a second process's cache sees
    with second.app_context():
        assert other_process.get(db.session, "builder_grace_period") == 90
    first.test_client().patch("/api/v1/config", json={"builder_grace_period": 45,
                                                      "builder_warning_period": 30},
                              headers=bearer(first, "admin"))
    with second.app_context():
        assert other_process.get(db.session, "builder_grace_period") == 45


def test_unreadable_settings_fall_back_to_last_known_values_and_readyz_says_so(app: Flask) -> None:
    store = StateManager.get_instance().settings
    with app.app_context():
        assert store.get(db.session, "builder_grace_period") == 90
        db.session.execute(db.text("DROP TABLE setting_changes"))
        db.session.execute(db.text("ALTER TABLE setting_overrides RENAME TO gone"))
        db.session.commit()
        store.invalidate()
        assert store.get(db.session, "builder_grace_period") == 90  # defaults, no crash
        assert store.last_error
    readyz = app.test_client().get("/readyz")
    assert readyz.status_code == 503
    assert "settings" in readyz.json["checks"]

"""Scheduled settings, revert and diff through the JSON API (CONTRACT §10), on SQLite and
PostgreSQL; the workers' tick is run by hand on the app's clock."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask

from tests.factories import make_token, make_user
from webapp.core.changes.manager import StateManager
from webapp.core.events import delivery, notifications
from webapp.extensions import db
from webapp.workers.settings_tasks import scheduled_settings_tick


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request):
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role="config_editor"))
    return app, app.test_client(), {"Authorization": f"Bearer {token}"}


def _tick(app: Flask) -> None:
    """One tick of the workers: apply what is due, then deliver the outbox (the bell)."""
    with app.app_context():
        scheduled_settings_tick(threading.Event())
        sm = StateManager.get_instance()
        delivery.deliver_all(db.session, sm, sm.clock)


def _value(client, headers, key):
    return client.get("/api/v1/config", headers=headers).json[key]["value"]


def test_a_change_scheduled_through_patch_applies_when_due_with_history(api, clock) -> None:
    app, client, headers = api
    at = (clock() + timedelta(hours=1)).isoformat()
    answer = client.patch("/api/v1/config", json={"builder_grace_period": 120,
                                                  "effective_at": at}, headers=headers)
    assert answer.status_code == 202
    assert (answer.json["status"], answer.json["values"]) == ("pending",
                                                              {"builder_grace_period": 120})
    pending = client.get("/api/v1/config/scheduled", headers=headers).json["items"]
    assert [p["id"] for p in pending] == [answer.json["id"]]

    _tick(app)
    assert _value(client, headers, "builder_grace_period") == 90
    clock.advance(hours=1)
    _tick(app)
    _tick(app)

    assert _value(client, headers, "builder_grace_period") == 120
    history = client.get("/api/v1/config/history", headers=headers).json["items"]
    assert [(h["key"], h["old"], h["new"]) for h in history] == [("builder_grace_period", 90, 120)]
    assert client.get("/api/v1/config/scheduled", headers=headers).json["items"] == []
    done = client.get("/api/v1/config/scheduled?status=applied", headers=headers).json["items"]
    assert [d["status"] for d in done] == ["applied"]


def test_a_cancelled_change_never_applies_and_cannot_be_cancelled_twice(api, clock) -> None:
    app, client, headers = api
    at = (clock() + timedelta(minutes=10)).isoformat()
    item = client.patch("/api/v1/config", json={"payroll_cutoff_day": 10, "effective_at": at},
                        headers=headers).json
    cancelled = client.delete(f"/api/v1/config/scheduled/{item['id']}", headers=headers)
    assert (cancelled.status_code, cancelled.json["status"]) == (200, "cancelled")
    clock.advance(minutes=11)
    _tick(app)

    assert _value(client, headers, "payroll_cutoff_day") == 25
    again = client.delete(f"/api/v1/config/scheduled/{item['id']}", headers=headers)
    assert again.status_code == 409 and "cancelled already" in again.json["message"]
    assert client.delete("/api/v1/config/scheduled/999999", headers=headers).status_code == 404


def test_a_change_invalid_when_due_fails_and_says_so_in_the_bell(api, clock) -> None:
    app, client, headers = api
    at = (clock() + timedelta(days=1)).isoformat()
    item = client.patch("/api/v1/config", json={"builder_warning_period": 80, "effective_at": at},
                        headers=headers).json
    client.patch("/api/v1/config", json={"builder_grace_period": 70}, headers=headers)
    clock.advance(days=1)
    _tick(app)

    [failed] = client.get("/api/v1/config/scheduled?status=failed", headers=headers).json["items"]
    assert failed["id"] == item["id"] and "shorter than the grace period" in failed["error"]
    assert _value(client, headers, "builder_warning_period") == 60
    with app.app_context():
        [note] = notifications.feed(db.session)
        assert "was not applied" in note.message


@pytest.mark.parametrize(("body", "field"), [
    ({"builder_grace_period": 100, "effective_at": "tomorrow"}, "effective_at"),
    ({"builder_grace_period": 100, "effective_at": "2001-01-01T00:00:00Z"}, "effective_at"),
    ({"builder_grace_period": 100, "effective_at": "9999-01-01T00:00:00Z"}, "effective_at"),
    ({"builder_grace_period": 100, "effective_at": 12}, "effective_at"),
    ({"effective_at": "2100-01-01T00:00:00Z"}, "body"),
    ({"builder_warning_period": 95, "effective_at": "+1h"}, "builder_warning_period"),
    ({"no_such_setting": 1, "effective_at": "+1h"}, "no_such_setting"),
])
def test_bad_schedules_are_refused_with_the_field_named(api, clock, body, field) -> None:
    _app, client, headers = api
    if body.get("effective_at") == "+1h":
        body = body | {"effective_at": (clock() + timedelta(hours=1)).isoformat()}
    answer = client.patch("/api/v1/config", json=body, headers=headers)
    assert answer.status_code == 400 and answer.json["error"] == "invalid_input"
    assert field in answer.json["fields"]
    assert client.get("/api/v1/config/scheduled?status=all", headers=headers).json["items"] == []


def test_revert_restores_an_entrys_old_value_or_says_why_not(api) -> None:
    _app, client, headers = api
    client.patch("/api/v1/config", json={"builder_warning_period": 80}, headers=headers)
    client.patch("/api/v1/config", json={"builder_warning_period": 30}, headers=headers)
    [second, first] = client.get("/api/v1/config/history", headers=headers).json["items"]

    back = client.post("/api/v1/config/revert", json={"history_id": second["id"]}, headers=headers)
    assert back.status_code == 200 and back.json["changed"] is True
    assert _value(client, headers, "builder_warning_period") == 80
    client.patch("/api/v1/config", json={"builder_grace_period": 70}, headers=headers)
    refused = client.post("/api/v1/config/revert", json={"history_id": first["id"]},
                          headers=headers)
    assert refused.status_code == 200  # first's old value, 60, is still below 70

    client.patch("/api/v1/config", json={"builder_warning_period": 30}, headers=headers)
    client.patch("/api/v1/config", json={"builder_grace_period": 50}, headers=headers)
    refused = client.post("/api/v1/config/revert", json={"history_id": second["id"]},
                          headers=headers)
    assert refused.status_code == 422 and refused.json["error"] == "rule_violation"
    assert "cannot go back to 80" in refused.json["message"]
    for bad, code in (({"history_id": 999999}, 404), ({"history_id": "1"}, 400), ({}, 400),
                      ({"history_id": 1, "x": 1}, 400)):
        assert client.post("/api/v1/config/revert", json=bad, headers=headers).status_code == code


def test_the_diff_gives_each_setting_at_two_times(api, clock) -> None:
    _app, client, headers = api
    before = clock().isoformat()
    clock.advance(minutes=5)
    client.patch("/api/v1/config", json={"sales_rep_grace_period": 70}, headers=headers)

    answer = client.get("/api/v1/config/diff", query_string={"from": before}, headers=headers)
    rows = {r["key"]: r for r in answer.json["items"]}
    assert (rows["sales_rep_grace_period"]["from"], rows["sales_rep_grace_period"]["to"]) == (60, 70)
    assert [k for k, r in rows.items() if r["changed"]] == ["sales_rep_grace_period"]
    backwards = client.get("/api/v1/config/diff", query_string={"from": clock().isoformat(),
                                                               "to": before}, headers=headers)
    assert backwards.status_code == 400
    assert client.get("/api/v1/config/diff?from=soon", headers=headers).status_code == 400


def test_only_config_editors_and_admins_may_schedule_or_cancel(api, clock) -> None:
    app, client, headers = api
    with app.app_context():
        support = {"Authorization": f"Bearer {make_token(db.session, make_user(db.session))}"}
    at = (clock() + timedelta(hours=1)).isoformat()
    assert client.patch("/api/v1/config", json={"builder_grace_period": 100, "effective_at": at},
                        headers=support).status_code == 403
    item = client.patch("/api/v1/config", json={"builder_grace_period": 100, "effective_at": at},
                        headers=headers).json
    assert client.delete(f"/api/v1/config/scheduled/{item['id']}",
                         headers=support).status_code == 403
    assert client.get("/api/v1/config/scheduled", headers=support).status_code == 200

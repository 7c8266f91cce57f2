"""Scheduled transitions through the JSON API (CONTRACT §8), on SQLite and PostgreSQL: the
contract's shapes, every bad input a 400 naming its field, 404s and 403s, cancelling, and
``flask timers run`` running what is due (with the app's injected clock)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask

from tests.factories import make_token, make_user
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import AuditEntry, Notification

SEEDER = Actor("seeder", "admin")
KEYS = {"id", "entity_id", "to", "at", "reason", "status", "actor"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_app(request) -> Flask:
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    with app.app_context(), write_transaction(db.session):
        sm = StateManager.get_instance()
        packs.install_packs(db.session, sm.workflows, SEEDER, sm.clock())
    return app


@pytest.fixture
def call(api_app) -> Callable[..., object]:
    """``call("sam", "post", url, body)``: sam is support, ada admin, aud an auditor."""
    tokens = {}
    with api_app.app_context():
        for name, role in (("sam", "support"), ("ada", "admin"), ("aud", "auditor")):
            tokens[name] = make_token(db.session, make_user(db.session, role=role, username=name))

    def _call(who: str, method: str, url: str, payload: object = None):
        return api_app.test_client().open(url, method=method.upper(), json=payload,
                                          headers={"Authorization": f"Bearer {tokens[who]}"})
    return _call


@pytest.fixture
def ticket(api_app) -> int:
    with api_app.app_context():
        return StateManager.get_instance().create_entity(
            db.session, SEEDER, type="ticket", name="Printer on fire",
            data={"priority": "HIGH"}).id


def _later(clock, **delta) -> str:
    return (clock() + timedelta(**delta)).isoformat()


def test_a_schedule_is_made_listed_and_cancelled(call, ticket, clock, api_app):
    made = call("sam", "post", f"/api/v1/entities/{ticket}/schedules",
                {"to": "OPEN", "at": _later(clock, hours=4), "reason": "after the call"})
    assert made.status_code == 201
    body = made.json
    assert KEYS <= set(body)
    assert (body["entity_id"], body["to"], body["status"], body["actor"], body["reason"]) == \
        (ticket, "OPEN", "pending", "sam", "after the call")

    listed = call("aud", "get", f"/api/v1/entities/{ticket}/schedules")
    assert listed.status_code == 200 and [s["id"] for s in listed.json["items"]] == [body["id"]]

    cancelled = call("ada", "delete", f"/api/v1/schedules/{body['id']}")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    again = call("ada", "delete", f"/api/v1/schedules/{body['id']}")
    assert again.status_code == 409 and again.json["error"] == "conflict"
    with api_app.app_context():
        assert {"schedule.create", "schedule.cancel"} <= set(
            db.session.scalars(db.select(AuditEntry.event_type)))


@pytest.mark.parametrize(("payload", "field"), [
    ({"to": "NOWHERE", "at": "+4h", "reason": "r"}, "to"),
    ({"to": 7, "at": "+4h", "reason": "r"}, "to"),
    ({"at": "+4h", "reason": "r"}, "to"),
    ({"to": "OPEN", "at": "yesterday-ish", "reason": "r"}, "at"),
    ({"to": "OPEN", "at": "-1h", "reason": "r"}, "at"),
    ({"to": "OPEN", "at": "+20000h", "reason": "r"}, "at"),
    ({"to": "OPEN", "at": "0001-01-01T00:00:00", "reason": "r"}, "at"),
    ({"to": "OPEN", "reason": "r"}, "at"),
    ({"to": "OPEN", "at": "+4h"}, "reason"),
    ({"to": "OPEN", "at": "+4h", "reason": ""}, "reason"),
    ({"to": "OPEN", "at": "+4h", "reason": ["r"]}, "reason"),
    ({"to": "OPEN", "at": "+4h", "reason": "r" * 2001}, "reason"),
    ({"to": "OPEN", "at": "+4h", "reason": "r", "when": "now"}, "when"),
])
def test_bad_input_is_a_400_naming_the_field(call, ticket, clock, payload, field):
    if isinstance(payload.get("at"), str) and payload["at"][0] in "+-":
        payload = {**payload, "at": _later(clock, hours=int(payload["at"].removesuffix("h")))}

    answer = call("sam", "post", f"/api/v1/entities/{ticket}/schedules", payload)

    assert answer.status_code == 400
    assert answer.json["error"] == "invalid_input" and field in answer.json["fields"]


def test_unknown_ids_are_404_and_roles_that_may_not_operate_403(call, ticket, clock):
    good = {"to": "OPEN", "at": _later(clock, hours=1), "reason": "r"}
    assert call("sam", "post", "/api/v1/entities/999999/schedules", good).status_code == 404
    assert call("sam", "get", "/api/v1/entities/999999/schedules").status_code == 404
    assert call("sam", "delete", "/api/v1/schedules/999999").status_code == 404
    assert call("sam", "delete", f"/api/v1/schedules/{2**40}").status_code == 404
    assert call("aud", "post", f"/api/v1/entities/{ticket}/schedules", good).status_code == 403
    made = call("sam", "post", f"/api/v1/entities/{ticket}/schedules", good).json
    assert call("aud", "delete", f"/api/v1/schedules/{made['id']}").status_code == 403


def test_timers_run_does_what_is_due_and_a_refusal_tells_its_author(call, ticket, clock,
                                                                    api_app):
    ok = call("sam", "post", f"/api/v1/entities/{ticket}/schedules",
              {"to": "OPEN", "at": _later(clock, hours=1), "reason": "triaged"}).json
    bad = call("ada", "post", f"/api/v1/entities/{ticket}/schedules",
               {"to": "NEW", "at": _later(clock, hours=2), "reason": "reopen"}).json
    clock.advance(hours=3)

    out = api_app.test_cli_runner().invoke(args=["timers", "run"])

    assert out.exit_code == 0, out.output
    assert "schedules: 1 done, 1 failed" in out.output
    entity = call("sam", "get", f"/api/v1/entities/{ticket}").json
    assert entity["status"] == "OPEN"
    history = call("sam", "get", f"/api/v1/entities/{ticket}/history").json["items"]
    assert (history[0]["source"], history[0]["actor"]) == ("timer", "sam")
    items = {s["id"]: s for s in call("sam", "get",
                                      f"/api/v1/entities/{ticket}/schedules").json["items"]}
    assert items[ok["id"]]["status"] == "done"
    assert items[bad["id"]]["status"] == "failed" and items[bad["id"]]["reasons"]
    # the outbox delivers the ScheduleFailed event: the bell names its author
    from webapp.core.events import delivery
    with api_app.app_context():
        delivery.deliver_all(db.session, StateManager.get_instance(), clock)
        messages = list(db.session.scalars(db.select(Notification.message)))
    assert any(m.startswith("ada: your scheduled move of Ticket 'Printer on fire' to NEW failed")
               for m in messages)


def test_the_workers_tick_expires_a_subscription_at_its_expires_at(call, api_app, clock):
    import threading

    from webapp.workers import timing_tasks

    at = (clock() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sub = call("ada", "post", "/api/v1/entities", {"type": "subscription", "name": "Acme Pro",
                                                  "status": "active",
                                                  "data": {"expires_at": at}}).json["id"]

    def tick() -> str:
        with api_app.app_context():
            timing_tasks.timers_tick(threading.Event())
        return call("sam", "get", f"/api/v1/entities/{sub}").json["status"]

    clock.advance(days=3, seconds=-1)
    assert tick() == "active"
    clock.advance(seconds=1)
    assert tick() == "expired"
    history = call("sam", "get", f"/api/v1/entities/{sub}/history").json["items"]
    assert (history[0]["source"], history[0]["action"]) == ("timer", "expire")

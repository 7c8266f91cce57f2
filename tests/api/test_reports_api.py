"""GET /api/v1/reports/time-in-state and /throughput (CONTRACT §8), on SQLite and PostgreSQL:
the contract's shapes from a history made on the app's clock, and a 400 naming the parameter
for every bad one."""
from __future__ import annotations

from datetime import timedelta, timezone
from urllib.parse import urlencode

import pytest
from flask import Flask

from tests.factories import make_entity, make_token, make_user
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.reports import rollup
from webapp.core.workflows import packs
from webapp.extensions import db

SEEDER = Actor("seeder", "admin")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_app(request) -> Flask:
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    with app.app_context(), write_transaction(db.session):
        sm = StateManager.get_instance()
        packs.install_packs(db.session, sm.workflows, SEEDER, sm.clock())
    return app


@pytest.fixture
def story(api_app, clock):
    """Two transactions: one activated after 3 hours (and the history folded), one pending."""
    with api_app.app_context():
        sm = StateManager.get_instance()
        first = make_entity(sm, db.session, SEEDER, "transaction").id
        second = make_entity(sm, db.session, SEEDER, "transaction").id
        clock.advance(hours=3)
        sm.transition(db.session, SEEDER, first, "active")
        rollup.fold(db.session, clock, "test")
    return first, second


@pytest.fixture
def get(api_app):
    with api_app.app_context():
        token = make_token(db.session, make_user(db.session, role="auditor"))
    client = api_app.test_client()
    return lambda url: client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_time_in_state_answers_one_item_per_state_in_the_contract_shape(story, get):
    first, second = story

    answer = get("/api/v1/reports/time-in-state?type=transaction")

    assert answer.status_code == 200
    items = {i["state"]: i for i in answer.json["items"]}
    assert sorted(items) == ["active", "expired", "pending", "suspended"]
    assert set(items["pending"]) == {"state", "entries", "p50_hours", "p90_hours", "max_hours",
                                     "current", "oldest_current_id"}
    assert items["pending"]["entries"] == 2 and items["pending"]["current"] == 1
    assert items["pending"]["p50_hours"] == pytest.approx(3, rel=0.011)
    assert items["pending"]["max_hours"] == 3.0
    assert items["pending"]["oldest_current_id"] == second
    assert (items["active"]["entries"], items["active"]["oldest_current_id"]) == (1, first)


def test_since_and_until_narrow_the_days_counted(story, get, clock):
    day = (clock() + timedelta(days=1)).date().isoformat()

    items = get(f"/api/v1/reports/time-in-state?type=transaction&since={day}").json["items"]

    assert [i["entries"] for i in items] == [0, 0, 0, 0]
    assert items[0]["current"] == 1  # current is now, whatever the days


def test_throughput_answers_the_last_n_days_oldest_first(story, get, clock):
    answer = get("/api/v1/reports/throughput?type=transaction&days=2")

    assert answer.status_code == 200
    days = answer.json["days"]
    assert [d["date"] for d in days][-1] == clock().date().isoformat()
    assert len(days) == 2
    assert sum(d["pending"] for d in days) == 2 and sum(d["active"] for d in days) == 1
    assert set(days[0]) == {"date", "pending", "active", "suspended", "expired"}


@pytest.mark.parametrize(("query", "field"), [
    ("time-in-state", "type"),
    ("time-in-state?type=spaceship", "type"),
    ("time-in-state?type=transaction&since=yesterday", "since"),
    ("time-in-state?type=transaction&until=2026-02-30", "until"),
    ("time-in-state?type=transaction&since=2026-03-02&until=2026-03-01", "until"),
    ("time-in-state?type=transaction&since=0001-01-01", "since"),
    ("throughput?type=transaction&days=0", "days"),
    ("throughput?type=transaction&days=367", "days"),
    ("throughput?type=transaction&days=7.5", "days"),
    ("throughput?type=transaction&days=-3", "days"),
    ("throughput?type=transaction&days=%C2%B2", "days"),  # a superscript two is no number
    ("throughput?days=7", "type"),
])
def test_a_bad_parameter_is_a_400_naming_it(api_app, get, query, field):
    answer = get(f"/api/v1/reports/{query}")

    assert answer.status_code == 400
    assert answer.json["error"] and answer.json["message"]
    assert list(answer.json["fields"]) == [field]


def test_reports_need_a_signed_in_caller(api_app):
    assert api_app.test_client().get(
        "/api/v1/reports/throughput?type=transaction").status_code == 401


def test_the_openapi_document_describes_both_reports(api_app):
    paths = api_app.test_client().get("/api/openapi.json").json["paths"]

    assert {"/reports/time-in-state", "/reports/throughput"} <= set(paths)


def test_the_stuck_list_names_entities_beyond_their_states_p90(story, get, clock):
    _first, second = story  # pending's one ended stay lasted 3 hours; the second waits on
    clock.advance(hours=1)

    items = get("/api/v1/reports/stuck?type=transaction").json["items"]

    assert [(i["id"], i["state"], i["hours"], i["p90_hours"]) for i in items] == [
        (second, "pending", 4.0, 3.0)]


def test_a_time_with_a_zone_counts_its_utc_day(story, get, clock):
    # now at UTC+1 (its date there may be tomorrow's): the UTC day of now is counted
    there = clock().astimezone(timezone(timedelta(hours=1))).isoformat()
    today = get("/api/v1/reports/throughput?type=transaction&days=1").json["days"][0]

    items = get("/api/v1/reports/time-in-state?"
                + urlencode({"type": "transaction", "since": there, "until": there})).json["items"]

    assert {i["state"]: i["entries"] for i in items} == {
        s: n for s, n in today.items() if s != "date"}

"""SLA clocks through the JSON API (CONTRACT §8), on SQLite and PostgreSQL, with the app's
clock moved by the test: every entity's ``"slas"``, the ``sla=breached|at_risk`` filters,
the sort by due time with its keyset pages, and a 400 naming ``sla`` for any other value."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest


def _ticket(api, name: str, priority: str) -> dict:
    answer = api("POST", "/entities", {"type": "ticket", "name": name,
                                       "data": {"priority": priority}})
    assert answer.status_code == 201, answer.json
    return answer.json


def _names(api, query: str) -> list[str]:
    answer = api("GET", f"/entities?type=ticket&{query}")
    assert answer.status_code == 200, answer.json
    return [item["name"] for item in answer.json["items"]]


def test_an_entity_says_where_its_sla_clocks_stand(server, api, clock):
    created = _ticket(api, "Boiler down", "CRITICAL")

    assert created["slas"] == [{
        "name": "resolution", "goal_hours": 4, "elapsed_seconds": 0,
        "remaining_seconds": 4 * 3600, "paused": False, "breached": False,
        "due_at": (datetime.fromisoformat(created["created_at"]) + timedelta(hours=4)).isoformat()}]
    clock.advance(hours=5)
    [later] = api("GET", f"/entities/{created['id']}").json["slas"]
    assert (later["elapsed_seconds"], later["remaining_seconds"], later["breached"]) == (
        5 * 3600, 0, True)

    held = api("POST", f"/entities/{created['id']}/transition", {"to": "OPEN"}).json
    assert not held["slas"][0]["paused"]
    builder = api("POST", "/entities", {"type": "builder", "name": "Harbour Homes"}).json
    assert builder["slas"] == []  # a type without SLAs


@pytest.fixture
def tickets(api, clock) -> dict[str, int]:
    """Seven hours on: CRITICAL (4 h) breached, HIGH (8 h) at risk, LOW (72 h) neither, and
    a MEDIUM one on hold from the start (paused: not due)."""
    made = {name: _ticket(api, name, name)["id"] for name in ("LOW", "CRITICAL", "HIGH", "MEDIUM")}
    for to in ("OPEN", "ONHOLD"):
        assert api("POST", f"/entities/{made['MEDIUM']}/transition", {"to": to}).status_code == 200
    clock.advance(hours=7)
    return made


def test_lists_filter_on_breached_and_at_risk_clocks(tickets, api):
    assert _names(api, "sla=breached") == ["CRITICAL"]
    assert _names(api, "sla=at_risk") == ["HIGH"]
    assert _names(api, "sla=at_risk&status=NEW") == ["HIGH"]
    assert _names(api, "sla=breached&status=OPEN") == []


def test_lists_sort_by_due_time_in_keyset_pages(tickets, api):
    def walk(sort: str) -> list[str]:
        seen, cursor = [], ""
        for _ in range(5):
            answer = api("GET", f"/entities?type=ticket&sort={sort}&limit=3{cursor}")
            assert answer.status_code == 200, answer.json
            seen += [item["name"] for item in answer.json["items"]]
            if not answer.json["next_cursor"]:
                return seen
            cursor = f"&cursor={answer.json['next_cursor']}"
        raise AssertionError("no last page")

    assert walk("sla_due") == ["CRITICAL", "HIGH", "LOW", "MEDIUM"]
    assert walk("-sla_due") == ["MEDIUM", "LOW", "HIGH", "CRITICAL"]


@pytest.mark.parametrize(("query", "named"), [
    ("type=ticket&sla=late", "sla"),
    ("type=ticket&sla=BREACHED", "sla"),
    ("type=builder&sort=sla_due", "sort"),
    ("sort=sla_due", "sort"),
])
def test_a_bad_sla_filter_or_sort_is_a_400_naming_it(server, api, query, named):
    answer = api("GET", f"/entities?{query}")

    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == "invalid_input"
    assert named in answer.json["fields"]


def test_a_saved_view_keeps_the_sla_filter_and_refuses_a_bad_one(server, api):
    kept = api("POST", "/views", {"name": "Late tickets", "type": "ticket",
                                  "query": {"sla": "breached", "sort": "sla_due"}, "shared": False})
    assert kept.status_code == 201, kept.json
    assert kept.json["query"] == {"sla": "breached", "sort": "sla_due"}

    bad = api("POST", "/views", {"name": "Soon", "type": "ticket", "query": {"sla": "soon"},
                                 "shared": False})
    assert bad.status_code == 400
    assert "query.sla" in bad.json["fields"]

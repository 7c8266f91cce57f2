"""Saved views through the API (CONTRACT §11), on SQLite and PostgreSQL: personal and shared,
checked against the type's fields when saved, deletable by their owner (and an admin for shared
ones), and a view whose field is no longer filterable reports the problem instead of failing."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_token, make_user
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import registry
from webapp.extensions import db


@pytest.fixture
def as_role(server):
    """``as_role("support")("POST", "/views", {...})``: a client per user with a token."""
    def make(role: str):
        with server.app_context():
            token = make_token(db.session, make_user(db.session, role=role))
        client = server.test_client()

        def call(method: str, path: str, payload: Any = None):
            return client.open(f"/api/v1{path}", method=method, json=payload,
                               headers={"Authorization": f"Bearer {token}"})
        return call
    return make


BIG = {"name": "Big houses", "type": "property",
       "query": {"data.price__gte": "400000", "sort": "-data.price", "status": "listed"}}


def test_views_are_personal_unless_shared(as_role):
    sam, ann = as_role("support"), as_role("auditor")
    mine = sam("POST", "/views", BIG)
    assert mine.status_code == 201, mine.json
    assert mine.json["query"] == BIG["query"] and mine.json["shared"] is False
    shared = sam("POST", "/views", {**BIG, "name": "Everyone's", "shared": True})
    assert shared.status_code == 201
    assert [v["name"] for v in sam("GET", "/views").json["items"]] == ["Big houses", "Everyone's"]
    assert [v["name"] for v in ann("GET", "/views").json["items"]] == ["Everyone's"]
    assert all(v["problem"] is None for v in sam("GET", "/views").json["items"])


@pytest.mark.parametrize(("payload", "named"), [
    ({**BIG, "query": {"data.colour": "red"}}, "query.data.colour"),
    ({**BIG, "query": {"data.price__gte": "cheap"}}, "query.data.price__gte"),
    ({**BIG, "query": {"sort": "-data.address"}}, "query.sort"),
    ({**BIG, "query": {"limit": "5"}}, "query.limit"),
    ({**BIG, "query": ["status"]}, "query"),
    ({**BIG, "type": "castle"}, "type"),
    ({**BIG, "name": "  "}, "name"),
    ({**BIG, "name": "x" * 101}, "name"),
    ({**BIG, "shared": "yes"}, "shared"),
    ({**BIG, "columns": ["price", "moat"]}, "columns"),
])
def test_a_view_that_cannot_run_is_refused_naming_the_part(as_role, payload, named):
    answer = as_role("support")("POST", "/views", payload)
    assert answer.status_code == 400, answer.json
    assert named in answer.json["fields"]


def test_one_name_per_person(as_role):
    sam = as_role("support")
    assert sam("POST", "/views", BIG).status_code == 201
    again = sam("POST", "/views", BIG)
    assert again.status_code == 400 and "already have a view" in again.json["fields"]["name"]
    assert as_role("support")("POST", "/views", BIG).status_code == 201  # another person may


def test_only_the_owner_or_an_admin_deletes(as_role):
    sam, ann, boss = as_role("support"), as_role("support"), as_role("admin")
    personal = sam("POST", "/views", BIG).json["id"]
    shared = sam("POST", "/views", {**BIG, "name": "Shared", "shared": True}).json["id"]
    assert ann("DELETE", f"/views/{personal}").status_code == 404  # not even visible
    assert ann("DELETE", f"/views/{shared}").status_code == 403
    assert boss("DELETE", f"/views/{shared}").status_code == 204
    assert sam("DELETE", f"/views/{personal}").status_code == 204
    assert sam("GET", "/views").json["items"] == []


def test_a_view_whose_field_stopped_being_filterable_reports_it(server, as_role):
    sam = as_role("support")
    assert sam("POST", "/views", BIG).status_code == 201
    with server.app_context():
        sm = StateManager.get_instance()
        doc = registry.export_document(db.session, sm.workflows, "property")["types"]["property"]
        doc["fields"]["price"]["filterable"] = False
        with write_transaction(db.session):
            registry.save(db.session, "property", doc, "realestate", "admin", sm.clock(),
                          set(registry.load_pack("realestate")["types"]))
        sm.workflows.invalidate()
    (view,) = sam("GET", "/views").json["items"]
    assert "not a filterable field" in view["problem"]

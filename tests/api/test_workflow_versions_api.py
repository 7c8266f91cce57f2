"""Workflow versions, diffs, drafts and publishing through the JSON API (CONTRACT §10), on
SQLite and PostgreSQL."""
from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import make_realestate, make_token, make_user
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import AuditEntry, Entity, StatusChange

SEEDER = Actor("seeder", "admin")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_app(request) -> Flask:
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    with app.app_context(), write_transaction(db.session):
        sm = StateManager.get_instance()
        packs.install_packs(db.session, sm.workflows, SEEDER, sm.clock())
    return app


@pytest.fixture
def call(api_app) -> Callable[..., Callable[..., object]]:
    """``call("config_editor")("put", "/api/v1/…", {...})``."""

    def as_role(role: str):
        with api_app.app_context():
            token = make_token(db.session, make_user(db.session, role=role))

        def send(method: str, url: str, payload: object = None):
            return api_app.test_client().open(url, method=method.upper(), json=payload,
                                              headers={"Authorization": f"Bearer {token}"})
        return send
    return as_role


@pytest.fixture
def reserved(api_app) -> list[int]:
    """12 reserved properties (and 2 available)."""
    with api_app.app_context():
        sm = StateManager.get_instance()
        ids = [p.id for p in make_realestate(sm, db.session, SEEDER, properties=14,
                                             reps=0).properties]
        for pid in ids[:12]:
            sm.transition(db.session, SEEDER, pid, "reserved")
    return ids[:12]


def without_reserved(export: dict) -> dict:
    doc = copy.deepcopy(export)
    wf = doc["types"]["property"]
    del wf["states"]["reserved"]
    wf["transitions"] = [t for t in wf["transitions"] if t["name"] != "reserve"]
    for t in wf["transitions"]:
        t["from"] = [s for s in t["from"] if s != "reserved"]
    return doc


def test_the_issue_case_through_the_api(api_app, call, reserved):
    editor, base = call("config_editor"), "/api/v1/workflows/property"
    export = editor("get", f"{base}/versions/1").json
    assert set(export) >= {"pack", "types", "version", "actor", "comment", "created_at"}

    assert editor("put", f"{base}/draft", without_reserved(export)).status_code == 200
    check = editor("post", f"{base}/draft/check").json
    assert (check["problems"], check["stranded"], check["newly_blocked"]) == (
        [], {"reserved": 12}, {"reserve": 2})

    refused = editor("post", f"{base}/draft/publish", {"comment": "no mapping"})
    assert refused.status_code == 422
    assert refused.json["error"] == "rule_violation"
    assert refused.json["stranded"] == {"reserved": 12}
    assert "12 properties are in 'reserved'" in refused.json["messages"][0]

    done = editor("post", f"{base}/draft/publish",
                  {"state_mapping": {"reserved": "pending"}, "comment": "drop reserved"})
    assert done.status_code == 200, done.json
    assert (done.json["version"], done.json["moved"]) == (2, {"reserved": 12})
    with api_app.app_context():
        assert {e.status for e in db.session.scalars(
            select(Entity).where(Entity.id.in_(reserved)))} == {"pending"}
        assert {h.source for h in db.session.scalars(select(StatusChange).where(
            StatusChange.correlation_id == done.json["correlation_id"]))} == {"migration"}
    history = editor("get", f"/api/v1/entities/{reserved[0]}/history").json["items"]
    assert (history[0]["source"], history[0]["old_status"], history[0]["new_status"]) == (
        "migration", "reserved", "pending")

    back = editor("post", f"{base}/versions/1/publish", {"comment": "undo the change"})
    assert back.status_code == 200 and back.json["version"] == 3
    listed = editor("get", f"{base}/versions").json["items"]
    assert [(i["version"], i["comment"]) for i in listed] == [
        (3, "undo the change"), (2, "drop reserved"),
        (1, "First version, from the real estate pack.")]
    assert set(listed[0]) >= {"version", "actor", "comment", "created_at"}
    assert "reserved" in editor("get", "/api/v1/workflows/property/versions/3").json[
        "types"]["property"]["states"]
    with api_app.app_context():
        published = db.session.scalars(select(AuditEntry).where(
            AuditEntry.event_type == "workflow.publish")).all()
        assert len(published) == 2


def test_the_diff_between_two_versions_in_items_and_sentences(api_app, call, reserved):
    editor, base = call("admin"), "/api/v1/workflows/property"
    export = editor("get", f"{base}/versions/1").json
    editor("put", f"{base}/draft", without_reserved(export))
    editor("post", f"{base}/draft/publish", {"state_mapping": {"reserved": "available"}})

    diff = editor("get", f"{base}/diff?from=1&to=2")

    assert diff.status_code == 200
    body = diff.json
    assert [i["name"] for i in body["states"]["removed"]] == ["reserved"]
    assert [i["name"] for i in body["transitions"]["removed"]] == ["reserve"]
    assert {i["name"] for i in body["transitions"]["changed"]} == {"contract", "release",
                                                                   "withdraw"}
    assert "State 'reserved' removed." in body["sentences"]
    assert (body["from"], body["to"]) == (1, 2)


@pytest.mark.parametrize("method, url, payload, status, key", [
    ("get", "/api/v1/workflows/spaceship/versions", None, 404, None),
    ("get", "/api/v1/workflows/property/versions/99", None, 404, None),
    ("get", "/api/v1/workflows/property/versions/first", None, 400, "version"),
    ("get", "/api/v1/workflows/property/diff?from=1&to=x", None, 400, "to"),
    ("get", "/api/v1/workflows/property/diff?to=1", None, 400, "from"),
    ("put", "/api/v1/workflows/property/draft", {"types": {"ticket": {}}}, 400, "types"),
    ("put", "/api/v1/workflows/property/draft", [1], 400, "body"),
    ("post", "/api/v1/workflows/property/draft/publish", {}, 404, None),
    ("post", "/api/v1/workflows/property/draft/check", {}, 404, None),
])
def test_bad_requests_get_the_contracts_errors(api_app, call, method, url, payload, status, key):
    answer = call("config_editor")(method, url, payload)

    assert answer.status_code == status, answer.json
    assert set(answer.json) >= {"error", "message"}
    if key:
        assert key in answer.json["fields"]


def test_a_misspelt_key_in_a_draft_is_named_by_its_path(api_app, call):
    editor = call("config_editor")
    export = editor("get", "/api/v1/workflows/property/versions/1").json
    export["types"]["property"]["transitions"][0]["rolse"] = ["admin"]

    answer = editor("put", "/api/v1/workflows/property/draft", export)

    assert answer.status_code == 400
    assert "transitions[0].rolse" in str(answer.json)


def test_a_mapping_to_a_state_the_draft_lacks_is_refused_and_nothing_moves(api_app, call,
                                                                           reserved):
    editor, base = call("config_editor"), "/api/v1/workflows/property"
    editor("put", f"{base}/draft", without_reserved(editor("get", f"{base}/versions/1").json))

    answer = editor("post", f"{base}/draft/publish", {"state_mapping": {"reserved": "limbo"}})

    assert answer.status_code == 400
    assert "limbo" in answer.json["fields"]["state_mapping.reserved"]
    assert len(editor("get", f"{base}/versions").json["items"]) == 1
    with api_app.app_context():
        assert db.session.get(Entity, reserved[0]).status == "reserved"


def test_only_config_editors_and_admins_change_drafts_and_everyone_reads_versions(api_app, call):
    base = "/api/v1/workflows/property"
    support = call("support")
    assert support("get", f"{base}/versions").status_code == 200
    assert support("put", f"{base}/draft", {}).status_code == 403
    assert support("post", f"{base}/versions/1/publish", {}).status_code == 403
    assert call("auditor")("post", f"{base}/draft/check").status_code == 403


def test_publishing_the_version_in_force_again_is_the_next_version(api_app, call):
    """The clock stands still in tests, as two saves within one tick do in production: the
    same definition saved again must still become its own version, not a server error."""
    editor = call("config_editor")
    base = "/api/v1/workflows/ticket"

    first = editor("post", f"{base}/versions/1/publish", {"comment": "again"})
    second = editor("post", f"{base}/versions/1/publish", {"comment": "and again"})

    assert (first.status_code, second.status_code) == (200, 200), second.json
    assert (first.json["version"], second.json["version"]) == (2, 3)
    assert [i["version"] for i in editor("get", f"{base}/versions").json["items"]] == [3, 2, 1]

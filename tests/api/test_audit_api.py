"""GET /api/v1/audit and /api/v1/audit/verify (CONTRACT.md §6)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests.factories import make_audit_entries, make_token, make_user
from webapp.core.base.actor import Actor
from webapp.extensions import db
from webapp.models import AuditEntry


@pytest.fixture
def bearer(app):
    """``bearer("auditor")``: headers with a token of a new user of that role."""

    def _bearer(role: str) -> dict[str, str]:
        with app.app_context():
            token = make_token(db.session, make_user(db.session, role=role))
        return {"Authorization": f"Bearer {token}"}

    return _bearer


@pytest.fixture
def auditor(client, bearer):
    headers = bearer("auditor")
    return lambda path: client.get(path, headers=headers)


def test_the_log_comes_newest_first_in_the_contract_shape(app, auditor, clock):
    with app.app_context():
        ids = make_audit_entries(db.session, 3, clock(), Actor("ada", "admin", ip="192.0.2.1"),
                                 "entity.transition", object_type="property", object_id="7")

    body = auditor("/api/v1/audit").json

    assert set(body) == {"items", "next_cursor"}
    assert [item["id"] for item in body["items"]] == ids[::-1]
    assert body["next_cursor"] is None
    item = body["items"][0]
    assert (item["actor"], item["ip"], item["event_type"], item["object_id"]) == (
        "ada", "192.0.2.1", "entity.transition", "7")
    assert {"created_at", "diff", "risk", "hash", "prev_hash", "correlation_id"} <= set(item)


def test_each_contract_filter_narrows_the_log(app, auditor, clock):
    with app.app_context():
        old = make_audit_entries(db.session, 1, clock() - timedelta(days=3),
                                 Actor("bob", "support"), "entity.update", object_id="5")
        new = make_audit_entries(db.session, 1, clock(), Actor("ada", "admin"), "permission.denied")
    since = (clock() - timedelta(days=1)).isoformat()
    until = (clock() - timedelta(days=2)).isoformat()

    def found(query: str) -> list[int]:
        return [i["id"] for i in auditor(f"/api/v1/audit?{query}").json["items"]]

    assert found("actor=bob") == old
    assert found("event_type=permission.denied") == new
    assert found("object_id=5") == old
    assert found(f"since={since.replace('+', '%2B')}") == new
    assert found(f"until={until.replace('+', '%2B')}") == old


def test_the_cursor_walks_every_entry_once(app, auditor, clock):
    with app.app_context():
        ids = make_audit_entries(db.session, 7, clock())
    seen, cursor = [], None
    while True:
        body = auditor("/api/v1/audit?limit=3" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break

    assert seen == ids[::-1]


@pytest.mark.parametrize("query, field", [
    ("since=not-a-time", "since"), ("until=2026-13-45", "until"), ("cursor=%%%", "cursor"),
    ("limit=0", "limit"), ("actor=" + "x" * 101, "actor"),
])
def test_bad_input_is_a_400_naming_the_field(auditor, query, field):
    response = auditor(f"/api/v1/audit?{query}")

    assert response.status_code == 400
    assert response.json["error"] == "invalid_input"
    assert field in response.json["fields"]


def test_verify_reports_an_intact_chain(app, auditor, clock):
    with app.app_context():
        make_audit_entries(db.session, 4, clock())
        count = db.session.query(AuditEntry).count()

    assert auditor("/api/v1/audit/verify").json == {
        "ok": True, "checked": count, "first_bad_id": None}


def test_tampering_directly_in_the_database_is_caught_by_verify(app, auditor, clock):
    with app.app_context():
        ids = make_audit_entries(db.session, 6, clock(), message="approved by ada")
        db.session.execute(text("UPDATE audit_entries SET message = 'by bob' WHERE id = :id"),
                           {"id": ids[3]})
        db.session.commit()
        before = db.session.scalar(select(db.func.count()).select_from(AuditEntry).where(
            AuditEntry.id < ids[3]))

    assert auditor("/api/v1/audit/verify").json == {
        "ok": False, "checked": before, "first_bad_id": ids[3]}


@pytest.mark.parametrize("role", ["support", "config_editor"])
def test_other_roles_are_refused_and_the_attempt_is_recorded(app, client, bearer, role):
    response = client.get("/api/v1/audit", headers=bearer(role))

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    with app.app_context():
        denial = db.session.scalar(select(AuditEntry).where(
            AuditEntry.event_type == "permission.denied"))
    assert denial.message == "GET /api/v1/audit needs audit"


def test_admins_may_read_the_log_too(client, bearer):
    assert client.get("/api/v1/audit/verify", headers=bearer("admin")).status_code == 200


def test_the_openapi_document_describes_both_routes(client):
    paths = client.get("/api/openapi.json").json["paths"]

    assert {p["name"] for p in paths["/audit"]["get"]["parameters"]} >= {
        "actor", "event_type", "object_id", "since", "until", "cursor"}
    assert "/audit/verify" in paths

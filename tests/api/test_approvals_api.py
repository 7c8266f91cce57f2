"""Second-person approval through the JSON API (CONTRACT §9), on SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import make_entity, make_realestate, make_token, make_user
from webapp.core.approvals import deciding
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import AuditEntry, Entity, StatusChange

SEEDER = Actor("seeder", "admin")
APPROVAL_KEYS = {"id", "kind", "to", "reason", "requested_by", "status", "decided_by",
                 "decision_comment", "created_at", "decided_at", "expires_at"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_app(request) -> Flask:
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    with app.app_context(), write_transaction(db.session):
        sm = StateManager.get_instance()
        packs.install_packs(db.session, sm.workflows, SEEDER, sm.clock())
    return app


@pytest.fixture
def people(api_app) -> dict[str, Callable[..., object]]:
    """Callers by name: ``people["sam"]("post", "/api/v1/…", {...})``; sam is support,
    ada and olga are admins, cora a config editor."""
    callers = {}
    for name, role in (("sam", "support"), ("ada", "admin"), ("olga", "admin"),
                       ("cora", "config_editor")):
        with api_app.app_context():
            token = make_token(db.session, make_user(db.session, role=role, username=name))

        def call(method: str, url: str, payload: object = None, _token: str = token):
            return api_app.test_client().open(url, method=method.upper(), json=payload,
                                              headers={"Authorization": f"Bearer {_token}"})
        callers[name] = call
    return callers


@pytest.fixture
def estate(api_app):
    with api_app.app_context():
        made = make_realestate(StateManager.get_instance(), db.session, SEEDER, properties=2, reps=1)
        return {"builder": made.builder.id, "properties": [p.id for p in made.properties]}


def _entity(app: Flask, entity_id: int) -> Entity:
    with app.app_context():
        e = db.session.get(Entity, entity_id)
        db.session.expunge(e)
        return e


def _ask_close(people, estate, who="sam"):
    return people[who]("post", f"/api/v1/entities/{estate['builder']}/transition",
                       {"to": "out_of_business", "reason": "owner retired"})


def test_asking_answers_202_with_the_request_and_changes_nothing(api_app, people, estate):
    answer = _ask_close(people, estate)

    assert answer.status_code == 202
    approval = answer.json["approval"]
    assert APPROVAL_KEYS <= set(approval)
    assert (approval["kind"], approval["entity_id"], approval["to"], approval["status"]) == (
        "entity", estate["builder"], "out_of_business", "pending")
    assert (approval["requested_by"], approval["reason"]) == ("sam", "owner retired")
    assert _entity(api_app, estate["builder"]).status == "active"
    shown = people["sam"]("get", f"/api/v1/entities/{estate['builder']}").json
    assert shown["status"] == "active"
    assert shown["pending_approval"]["awaiting"] == "awaiting approval by admin"


def test_the_moves_say_which_need_approval(api_app, people, estate):
    moves = people["sam"]("get", f"/api/v1/entities/{estate['builder']}/transitions").json

    by_action = {m["action"]: m["approval_roles"] for m in moves}
    assert by_action["close"] == ["admin"] and by_action["suspend"] == []


def test_a_second_request_is_a_409(api_app, people, estate):
    _ask_close(people, estate)
    again = _ask_close(people, estate, "ada")

    assert again.status_code == 409
    assert again.json["error"] == "approval_pending"


def test_the_requester_gets_403_self_approval_even_as_an_admin(api_app, people, estate):
    approval = _ask_close(people, estate, "ada").json["approval"]

    own = people["ada"]("post", f"/api/v1/approvals/{approval['id']}/approve", {})

    assert own.status_code == 403
    assert own.json["error"] == "self_approval"
    with api_app.app_context():
        assert db.session.scalar(select(AuditEntry.event_type).order_by(AuditEntry.id.desc())) \
            == "permission.denied"
    assert _entity(api_app, estate["builder"]).status == "active"


def test_a_role_the_request_does_not_name_gets_403(api_app, people, estate):
    approval = _ask_close(people, estate).json["approval"]

    for who in ("sam", "cora"):
        answer = people[who]("post", f"/api/v1/approvals/{approval['id']}/approve", {})
        assert answer.status_code == 403
    assert _entity(api_app, estate["builder"]).status == "active"


def test_rejecting_needs_a_comment(api_app, people, estate):
    approval = _ask_close(people, estate).json["approval"]
    url = f"/api/v1/approvals/{approval['id']}/reject"

    bare = people["ada"]("post", url, {})
    assert bare.status_code == 400
    assert "comment" in bare.json["fields"]

    done = people["ada"]("post", url, {"comment": "talk to the owner first"})
    assert done.status_code == 200
    assert (done.json["status"], done.json["decided_by"], done.json["decision_comment"]) == (
        "rejected", "ada", "talk to the owner first")
    assert _entity(api_app, estate["builder"]).status == "active"


def test_approving_applies_with_source_approval_naming_both_people(api_app, people, estate):
    approval = _ask_close(people, estate).json["approval"]

    done = people["ada"]("post", f"/api/v1/approvals/{approval['id']}/approve", {"comment": "ok"})

    assert done.status_code == 200
    assert (done.json["status"], done.json["decided_by"]) == ("approved", "ada")
    assert _entity(api_app, estate["builder"]).status == "out_of_business"
    assert {_entity(api_app, p).status for p in estate["properties"]} == {"off_market"}
    items = people["sam"]("get", f"/api/v1/entities/{estate['builder']}/history").json["items"]
    assert items[0]["source"] == "approval"
    assert (items[0]["metadata"]["requested_by"], items[0]["metadata"]["approved_by"]) == ("sam", "ada")
    listed = people["olga"]("get", "/api/v1/approvals?status=approved").json["items"]
    assert [a["id"] for a in listed] == [approval["id"]]
    assert people["olga"]("get", "/api/v1/approvals?status=pending").json["items"] == []
    again = people["olga"]("post", f"/api/v1/approvals/{approval['id']}/approve", {})
    assert again.status_code == 409


def test_a_refused_replan_is_422_and_the_request_fails_with_nothing_changed(api_app, people, estate):
    approval = _ask_close(people, estate).json["approval"]
    with api_app.app_context():
        StateManager.get_instance().transition(db.session, SEEDER, estate["properties"][0],
                                               "under_contract")
        before = db.session.query(StatusChange).count()

    answer = people["ada"]("post", f"/api/v1/approvals/{approval['id']}/approve", {})

    assert answer.status_code == 422
    assert answer.json["error"] == "rule_violation"
    assert answer.json["messages"]
    failed = people["ada"]("get", "/api/v1/approvals?status=failed").json["items"]
    assert [a["id"] for a in failed] == [approval["id"]] and failed[0]["reasons"]
    assert _entity(api_app, estate["builder"]).status == "active"
    assert _entity(api_app, estate["properties"][1]).status == "available"
    with api_app.app_context():
        assert db.session.query(StatusChange).count() == before


def test_a_bulk_run_asks_once_and_approving_moves_them_all(api_app, people):
    with api_app.app_context():
        sm = StateManager.get_instance()
        ids = [make_entity(sm, db.session, SEEDER, "attendance").id for _ in range(3)]

    preview = people["sam"]("post", "/api/v1/bulk/transition",
                            {"ids": ids, "target_state": "ADJUSTED", "dry_run": True})
    assert preview.status_code == 200 and preview.json["successful_items"] == 3
    asked = people["sam"]("post", "/api/v1/bulk/transition",
                          {"ids": ids, "target_state": "ADJUSTED", "comments": "shift swap"})
    assert asked.status_code == 202
    approval = asked.json["approval"]
    assert (approval["kind"], approval["ids"], approval["status"]) == ("bulk", ids, "pending")
    assert {_entity(api_app, i).status for i in ids} == {"PENDING"}
    one = people["sam"]("post", f"/api/v1/entities/{ids[0]}/transition", {"to": "ADJUSTED"})
    assert one.status_code == 409

    done = people["ada"]("post", f"/api/v1/approvals/{approval['id']}/approve", {})
    assert done.status_code == 200
    assert {_entity(api_app, i).status for i in ids} == {"ADJUSTED"}


def test_requests_expire_after_the_setting(api_app, people, estate, clock):
    people["ada"]("patch", "/api/v1/config", {"approval_expiry_hours": 2})
    approval = _ask_close(people, estate).json["approval"]
    clock.advance(hours=3)
    with api_app.app_context():
        assert deciding.expire_due(db.session, clock()) == 1

    listed = people["ada"]("get", "/api/v1/approvals?status=expired").json["items"]
    assert [a["id"] for a in listed] == [approval["id"]]
    assert people["ada"]("post", f"/api/v1/approvals/{approval['id']}/approve", {}).status_code == 409


def test_bad_input_is_a_400_never_a_500(api_app, people):
    assert people["ada"]("get", "/api/v1/approvals?status=maybe").status_code == 400
    assert people["ada"]("get", "/api/v1/approvals?cursor=%%%").status_code == 400
    assert people["ada"]("post", "/api/v1/approvals/999999/approve", {}).status_code == 404
    assert people["ada"]("post", "/api/v1/approvals/1/reject", {"comment": 5}).status_code in (400, 404)
    assert people["ada"]("post", "/api/v1/approvals/1/approve", {"extra": 1}).status_code == 400


def test_the_workers_expire_due_requests_and_the_requester_is_notified(api_app, people, estate,
                                                                       clock):
    import threading

    from webapp.core.events import delivery
    from webapp.models import Notification
    from webapp.workers import tasks

    approval = _ask_close(people, estate).json["approval"]
    clock.advance(hours=73)
    with api_app.app_context():
        tasks.approvals_tick(threading.Event())
        delivery.deliver_all(db.session, StateManager.get_instance(), clock)
        messages = list(db.session.scalars(select(Notification.message)
                                           .order_by(Notification.id)))

    assert people["sam"]("get", "/api/v1/approvals?status=expired").json["items"][0]["id"] \
        == approval["id"]
    assert messages[-1].startswith("sam's request to move builder")
    assert messages[-1].endswith("expired undecided.")

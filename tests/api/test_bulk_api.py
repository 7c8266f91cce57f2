"""POST /api/v1/bulk/transition, /assign, /update and /<correlation_id>/undo (CONTRACT.md §6)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from tests.factories import make_entity, make_realestate, make_token, make_user
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import Entity, StatusChange

SEEDER = Actor("seeder", "admin")
RESULT_KEYS = {"operation_type", "total_items", "successful_items", "failed_items", "success_rate",
               "successful_ids", "failed_ids", "failure_details", "warnings", "was_rolled_back",
               "dry_run", "audit_correlation_id"}


@pytest.fixture(autouse=True)
def sm(app, clock) -> Iterator[StateManager]:
    """A fresh process-wide StateManager on the test's clock, packs installed."""
    StateManager.reset_instance()
    manager = StateManager.get_instance()
    manager.clock = clock
    with app.app_context(), write_transaction(db.session):
        packs.install_packs(db.session, manager.workflows, SEEDER, clock())
    yield manager
    StateManager.reset_instance()


@pytest.fixture
def api(app, client) -> Callable[..., Callable[..., object]]:
    """``api("support")("transition", {...})`` posts to /api/v1/bulk/... with a token."""

    def as_role(role: str):
        with app.app_context():
            token = make_token(db.session, make_user(db.session, role=role))

        def post(route: str, payload: object):
            return client.post(f"/api/v1/bulk/{route}", json=payload,
                               headers={"Authorization": f"Bearer {token}"})
        return post

    return as_role


@pytest.fixture
def support(api):
    return api("support")


@pytest.fixture
def properties(app, sm) -> list[int]:
    with app.app_context():
        return [p.id for p in make_realestate(sm, db.session, SEEDER, properties=4, reps=0).properties]


def _statuses(app, ids):
    with app.app_context():
        return [db.session.get(Entity, i).status for i in ids]


def _sell(app, sm, entity_id):
    with app.app_context():
        for state in ("under_contract", "sold"):
            sm.transition(db.session, SEEDER, entity_id, state)


def test_a_bulk_transition_answers_the_contracts_result(app, support, properties):
    response = support("transition", {"ids": properties, "target_state": "pending",
                                      "comments": "open house", "dry_run": False,
                                      "rollback_on_error": False})

    assert response.status_code == 200
    body = response.json
    assert set(body) == RESULT_KEYS
    assert body | {"audit_correlation_id": None} == {
        "operation_type": "transition", "total_items": 4, "successful_items": 4, "failed_items": 0,
        "success_rate": 100.0, "successful_ids": properties, "failed_ids": [],
        "failure_details": {}, "warnings": [], "was_rolled_back": False, "dry_run": False,
        "audit_correlation_id": None}
    assert _statuses(app, properties) == ["pending"] * 4
    with app.app_context():
        rows = db.session.scalars(select(StatusChange).where(
            StatusChange.correlation_id == body["audit_correlation_id"])).all()
    assert {(r.source, r.reason) for r in rows} == {("bulk", "open house")}


def test_all_or_nothing_reports_the_failure_and_changes_nothing(app, sm, support, properties):
    _sell(app, sm, properties[-1])

    body = support("transition", {"ids": properties, "target_state": "off_market",
                                  "dry_run": False, "rollback_on_error": True}).json

    assert body["was_rolled_back"] is True and body["successful_ids"] == []
    assert body["failed_ids"] == [properties[-1]]
    assert "final state" in body["failure_details"][str(properties[-1])]
    assert _statuses(app, properties[:-1]) == ["available"] * 3


def test_unknown_ids_are_reported_per_item(app, support, properties):
    body = support("transition", {"ids": [properties[0], 987654], "target_state": "reserved",
                                  "rollback_on_error": False}).json

    assert body["successful_ids"] == [properties[0]]
    assert body["failure_details"] == {"987654": "No entity with id 987654."}


def test_a_dry_run_changes_nothing(app, support, properties):
    body = support("transition", {"ids": properties, "target_state": "reserved",
                                  "dry_run": True}).json

    assert body["dry_run"] is True and body["successful_items"] == 4
    assert body["audit_correlation_id"] is None
    assert _statuses(app, properties) == ["available"] * 4


@pytest.mark.parametrize("ids, complaint", [
    (list(range(1, 1002)), "Send at most 1,000 ids; split larger operations."),
    ([1, 2, 2], "Duplicated: 2."),
    ([1, "2"], "Not an entity id: '2'."),
    ([1.5], "Not an entity id: 1.5."),
    ([], "Send a list of entity ids, e.g. [1, 2, 3]."),
    (None, "Send a list of entity ids, e.g. [1, 2, 3]."),
])
def test_bad_id_lists_are_400_with_the_field_named(support, ids, complaint):
    response = support("transition", {"ids": ids, "target_state": "pending"})

    assert response.status_code == 400
    assert response.json["error"] == "invalid_input"
    assert response.json["fields"] == {"ids": complaint}


@pytest.mark.parametrize("payload, field", [
    ({"target_state": "pending", "dry_run": "yes"}, "dry_run"),
    ({"target_state": "pending", "rollback_on_error": 1}, "rollback_on_error"),
    ({"target_state": ""}, "target_state"),
    ({"target_state": "pending", "colour": "red"}, "colour"),
])
def test_bad_options_are_400(support, properties, payload, field):
    response = support("transition", {"ids": properties, **payload})

    assert response.status_code == 400
    assert field in response.json["fields"]


def test_assign_sets_the_assignee(app, sm, support):
    with app.app_context():
        make_user(db.session, username="kenji")
        tasks = [make_entity(sm, db.session, SEEDER, "task").id for _ in range(2)]

    body = support("assign", {"ids": tasks, "assignee": "kenji", "dry_run": False}).json

    assert body["successful_ids"] == tasks
    with app.app_context():
        assert {db.session.get(Entity, t).data["assignee"] for t in tasks} == {"kenji"}
    assert support("assign", {"ids": tasks, "assignee": "  "}).status_code == 400


def test_update_refuses_protected_fields(support, properties):
    response = support("update", {"ids": properties, "update_data": {"status": "sold", "note": 1}})

    assert response.status_code == 400
    assert response.json["fields"] == {"update_data.status": "protected: change it another way"}


def test_update_merges_data(app, support, properties):
    body = support("update", {"ids": properties[:2], "update_data": {"bedrooms": 4},
                              "rollback_on_error": False}).json

    assert body["successful_items"] == 2
    with app.app_context():
        assert db.session.get(Entity, properties[0]).data == {"bedrooms": 4}


def test_undo_previews_then_restores_and_skips_entities_changed_since(app, sm, support, properties):
    done = support("transition", {"ids": properties, "target_state": "reserved"}).json
    with app.app_context():
        sm.transition(db.session, SEEDER, properties[0], "under_contract")
    cid = done["audit_correlation_id"]

    preview = support(f"{cid}/undo", {"dry_run": True}).json
    assert preview["dry_run"] is True and preview["successful_ids"] == properties[1:]
    assert _statuses(app, properties[1:]) == ["reserved"] * 3

    undone = support(f"{cid}/undo", {"dry_run": False}).json
    assert undone["operation_type"] == "undo" and undone["successful_ids"] == properties[1:]
    assert "changed since" in undone["failure_details"][str(properties[0])]
    assert _statuses(app, properties) == ["under_contract"] + ["available"] * 3


def test_undo_of_an_unknown_operation_is_404(support):
    response = support("no-such-operation/undo", {"dry_run": True})

    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_only_admins_may_force_an_undo(support, properties):
    cid = support("transition", {"ids": properties, "target_state": "reserved"}).json[
        "audit_correlation_id"]

    assert support(f"{cid}/undo", {"dry_run": True, "force": True}).status_code == 403


@pytest.mark.parametrize("role", ["auditor", "config_editor"])
def test_roles_that_may_not_operate_are_refused(api, properties, role):
    post = api(role)

    assert post("transition", {"ids": properties, "target_state": "pending"}).status_code == 403
    assert post("some-id/undo", {"dry_run": True}).status_code == 403


def test_the_property_limit_setting_is_respected(app, sm, support, properties):
    with app.app_context(), write_transaction(db.session):
        sm.settings.apply(db.session, {"property_bulk_operation_max": 3}, "admin", sm.clock())

    response = support("transition", {"ids": properties, "target_state": "pending"})

    assert response.status_code == 400
    assert response.json["fields"] == {"ids": "At most 3 properties per request."}


def test_the_openapi_document_describes_the_bulk_routes(client):
    doc = client.get("/api/openapi.json").json

    assert {"/bulk/transition", "/bulk/assign", "/bulk/update",
            "/bulk/{correlation_id}/undo"} <= set(doc["paths"])
    assert set(doc["components"]["schemas"]["BulkResult"]["required"]) == RESULT_KEYS
    body = doc["paths"]["/bulk/transition"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["ids"]["maxItems"] == 1000

"""Approvals in the browser: asking from the entity page and a bulk run, the inbox with what
would happen, deciding with CSRF, the form errors and refusals (CONTRACT §9)."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.helpers import csrf_token
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    estate,
    fresh_state_manager,
    post,
    run,
    sm,
)
from webapp.extensions import db
from webapp.models import Approval, Entity, StatusChange


@pytest.fixture
def support_client(login_as):
    return login_as("support")


def _status(run, entity_id: int) -> str:
    return run(lambda s: s.get(Entity, entity_id).status)


def _ask(client, estate) -> int:
    answer = post(client, f"/entities/{estate.builder}/transition",
                  {"to": "out_of_business", "comment": "owner retired"})
    assert answer.status_code == 200, answer.text
    assert "Asked for approval" in answer.text
    return answer


def _only_request(run) -> Approval:
    return run(lambda s: s.query(Approval).one())


def test_the_move_button_asks_and_the_panel_shows_the_waiting_request(support_client, estate, run):
    page = support_client.get(f"/entities/{estate.builder}").text
    assert "Ask for approval: Close" in page
    assert "needs approval by admin" in page

    answer = _ask(support_client, estate)

    assert "Awaiting approval" in answer.text and "awaiting approval by admin" in answer.text
    assert _status(run, estate.builder) == "active"
    again = post(support_client, f"/entities/{estate.builder}/transition",
                 {"to": "out_of_business", "comment": "again"})
    assert again.status_code == 409
    assert "already has a request waiting" in again.text


def test_the_inbox_shows_the_cascade_preview_and_an_admin_approves(support_client, admin_client,
                                                                   estate, run):
    _ask(support_client, estate)
    a = _only_request(run)

    inbox = admin_client.get("/approvals/").text
    assert f"Request #{a.id}" in inbox and "owner retired" in inbox
    assert "4 related entities change with it" in inbox  # 3 properties, 1 sales rep
    assert "Approve" in inbox and "Why reject (required)" in inbox
    token = csrf_token(inbox)
    done = admin_client.post(f"/approvals/{a.id}/approve", data={"csrf_token": token})
    assert done.status_code == 303
    assert "Approved request" in admin_client.get(done.headers["Location"]).text
    assert _status(run, estate.builder) == "out_of_business"
    last = run(lambda s: s.query(StatusChange).filter_by(entity_id=estate.builder)
               .order_by(StatusChange.id.desc()).first())
    assert last.source == "approval" and last.meta["approved_by"] != last.meta["requested_by"]


def test_rejecting_without_a_comment_shows_the_form_error(support_client, admin_client, estate, run):
    _ask(support_client, estate)
    a = _only_request(run)
    token = csrf_token(admin_client.get(f"/approvals/{a.id}").text)

    bare = admin_client.post(f"/approvals/{a.id}/reject", data={"csrf_token": token, "comment": " "})

    assert bare.status_code == 400
    assert "Say why you reject it." in bare.text
    assert run(lambda s: s.get(Approval, a.id).status) == "pending"
    done = admin_client.post(f"/approvals/{a.id}/reject",
                             data={"csrf_token": token, "comment": "not yet"})
    assert done.status_code == 303
    assert run(lambda s: s.get(Approval, a.id).status) == "rejected"
    decided = admin_client.get("/approvals/?status=rejected").text
    assert "not yet" in decided


def test_a_decision_without_csrf_is_refused(support_client, admin_client, estate, run):
    _ask(support_client, estate)
    a = _only_request(run)

    assert admin_client.post(f"/approvals/{a.id}/approve", data={}).status_code == 400
    assert run(lambda s: s.get(Approval, a.id).status) == "pending"


def test_the_requester_sees_no_decision_forms_and_cannot_decide(app, support_client, estate, run):
    _ask(support_client, estate)
    a = _only_request(run)
    page = support_client.get(f"/approvals/{a.id}").text
    assert "Why reject" not in page and "another person (admin) decides it" in page

    refused = support_client.post(f"/approvals/{a.id}/approve",
                                  data={"csrf_token": csrf_token(page)})

    assert refused.status_code == 403
    assert "another person must decide it" in refused.text
    assert _status(run, estate.builder) == "active"


def test_an_admins_own_request_needs_another_admin(app, admin_client, estate, run):
    _ask(admin_client, estate)
    a = _only_request(run)
    page = admin_client.get(f"/approvals/{a.id}").text
    assert "Why reject" not in page

    refused = admin_client.post(f"/approvals/{a.id}/approve", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 403


def test_a_bulk_run_needing_approval_asks_once(app, support_client, sm, run):
    from tests.factories import make_entity
    from webapp.core.base.actor import Actor

    with app.app_context():
        ids = [make_entity(sm, db.session, Actor("seeder", "admin"), "attendance").id
               for _ in range(2)]
    token = csrf_token(support_client.get("/bulk/new?type=attendance").text)
    answer = support_client.post("/bulk/run", data={
        "csrf_token": token, "ids": ",".join(map(str, ids)), "action": "transition",
        "target_state": "ADJUSTED", "rollback_on_error": "1"})

    assert answer.status_code == 303, answer.text
    a = _only_request(run)
    assert answer.headers["Location"].endswith(f"/approvals/{a.id}")
    assert (a.kind, a.ids) == ("bulk", ids)
    page = support_client.get(answer.headers["Location"]).text
    assert "2 of 2 would move" in page
    assert "one request was made for all 2 entities" in page
    assert {_status(run, i) for i in ids} == {"PENDING"}


def test_the_bulk_preview_says_run_will_ask_for_approval(app, support_client, sm, run):
    from tests.factories import make_entity
    from webapp.core.base.actor import Actor

    with app.app_context():
        ids = [make_entity(sm, db.session, Actor("seeder", "admin"), "attendance").id
               for _ in range(2)]
    token = csrf_token(support_client.get("/bulk/new?type=attendance").text)
    preview = support_client.post("/bulk/preview", data={
        "csrf_token": token, "ids": ",".join(map(str, ids)), "action": "transition",
        "target_state": "ADJUSTED"}).text

    assert "This move needs approval by admin" in preview
    assert "Ask for approval of 2 entities" in preview and "Run: change" not in preview
    assert {_status(run, i) for i in ids} == {"PENDING"}


def test_the_navigation_offers_approvals_to_those_who_operate(app, login_as):
    assert ">Approvals<" in login_as("admin").get("/").text
    assert ">Approvals<" not in login_as("auditor").get("/").text
    with app.app_context():
        make_user(db.session, role="auditor")

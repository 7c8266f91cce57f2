"""Refusals leave a trail: permission denials with rising risk, failed sign-ins, lockouts."""
from __future__ import annotations

from sqlalchemy import select

from tests.factories import PASSWORD, make_token, make_user
from tests.helpers import login
from webapp.extensions import db
from webapp.models import AuditEntry


def audit_of(app, event_type: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.event_type == event_type)
                                  .order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return rows


def test_a_denied_page_records_what_was_tried_by_whom_and_from_where(app):
    with app.app_context():
        make_user(db.session, role="support", username="sam")
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="Probe/1.0")
    login(browser, "sam", PASSWORD)

    response = browser.get("/users/")

    assert response.status_code == 403
    assert "The attempt has been recorded." in response.text
    [denial] = audit_of(app, "permission.denied")
    assert denial.message == "GET /users/ needs manage_users"
    assert denial.actor == "sam"
    assert (denial.ip, denial.user_agent, denial.risk) == ("198.51.100.23", "Probe/1.0", "low")
    assert denial.diff == {"extra": {"role": "support"}}


def test_repeated_denials_raise_the_risk_level(app, login_as):
    browser = login_as("auditor")

    for _ in range(11):
        assert browser.get("/users/").status_code == 403

    risks = [d.risk for d in audit_of(app, "permission.denied")]
    assert risks == ["low"] * 3 + ["medium"] * 7 + ["high"]


def test_the_risk_level_counts_the_last_hour_only(app, login_as, clock):
    browser = login_as("auditor")
    for _ in range(4):
        browser.get("/users/")
    clock.advance(hours=2)

    browser.get("/users/")

    assert audit_of(app, "permission.denied")[-1].risk == "low"


def test_a_denied_api_call_is_recorded_too(app, client):
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role="auditor", username="ann"))

    response = client.post("/api/v1/entities", json={"type": "ticket", "name": "x"},
                           headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
    [denial] = audit_of(app, "permission.denied")
    assert (denial.actor, denial.message) == ("ann", "POST /api/v1/entities needs operate")


def test_failed_sign_ins_and_the_lockout_are_recorded_with_their_risk(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "dana", "guess-number-1")
    login(client, "dana", "guess-number-1")

    failures = audit_of(app, "login.bad_credentials")
    locked = audit_of(app, "login.locked")
    assert [f.risk for f in failures] == ["medium"] * (app.config["LOGIN_MAX_FAILURES"] - 1)
    assert {f.actor for f in failures + locked} == {"dana"}
    assert [entry.risk for entry in locked] == ["high", "high"]
    assert all(entry.ip for entry in failures + locked)


def test_an_anonymous_visitor_is_sent_to_sign_in_without_a_denial_entry(app, client):
    assert client.get("/audit/").status_code == 302
    assert audit_of(app, "permission.denied") == []

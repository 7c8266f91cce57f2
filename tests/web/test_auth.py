"""Signing in and out: roles, wrong passwords, lockout, where you land afterwards."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tests.helpers import NAV_BY_ROLE, csrf_token, existing_nav_labels, login, logout, nav_labels
from webapp.extensions import db
from webapp.models import ROLES, AuditEntry, User


def audit_events(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.event_type).order_by(AuditEntry.id)))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_and_sees_only_the_navigation_its_role_allows(app, login_as, role):
    page = login_as(role).get("/")

    assert page.status_code == 200
    assert set(nav_labels(page.text)) == NAV_BY_ROLE[role] & existing_nav_labels(app)
    assert "Dashboard" in nav_labels(page.text)
    assert role.replace("_", " ") in page.text


def test_signing_in_lands_on_the_dashboard(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    response = login(client, "dana", PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_wrong_password_is_refused_with_401_and_says_why(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    response = login(client, "dana", "not-the-password-1")

    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert client.get("/").status_code == 302


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(client):
    response = login(client, "nobody", "whatever-123")

    assert response.status_code == 401
    assert "Wrong username or password." in response.text


def test_a_failed_sign_in_is_audited(app, client):
    login(client, "nobody", "whatever-123")

    assert audit_events(app) == ["login.bad_credentials"]


def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_password(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "dana", "guess-number-1")
    response = login(client, "dana", PASSWORD)

    assert response.status_code == 401
    assert "Wrong username or password." in response.text  # as for any name: no hint it exists
    assert "login.locked" in audit_events(app)


def test_a_locked_account_opens_again_after_the_lockout_time(app, client, clock):
    with app.app_context():
        make_user(db.session, username="dana")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "dana", "guess-number-1")

    clock.advance(seconds=app.config["LOGIN_LOCKOUT_SECONDS"] + 1)

    assert login(client, "dana", PASSWORD).status_code == 302


def test_a_disabled_account_cannot_sign_in(app, client):
    with app.app_context():
        make_user(db.session, username="dana")
        db.session.scalar(select(User).filter_by(username="dana")).is_enabled = False
        db.session.commit()

    response = login(client, "dana", PASSWORD)

    assert response.status_code == 401
    assert "This account is disabled." in response.text


def test_signing_in_returns_to_the_page_that_asked_for_it(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    response = login(client, "dana", PASSWORD, next_url="/?view=recent")

    assert response.headers["Location"] == "/?view=recent"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
    "/\t/evil.example/", "javascript:alert(1)",
])
def test_signing_in_never_sends_you_to_another_site(app, client, target):
    with app.app_context():
        make_user(db.session, username="dana")

    response = login(client, "dana", PASSWORD, next_url=target)

    assert response.headers["Location"] == "/"


def test_signing_out_ends_the_session(admin_client):
    response = logout(admin_client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You are signed out." in admin_client.get("/login").text
    assert admin_client.get("/").status_code == 302


def test_signing_out_by_a_plain_link_or_without_the_form_token_does_nothing(admin_client):
    assert admin_client.get("/logout").status_code == 405
    assert admin_client.post("/logout").status_code == 400
    assert admin_client.get("/").status_code == 200


def test_the_sign_out_form_carries_a_csrf_token(admin_client):
    page = admin_client.get("/").text

    assert 'action="/logout"' in page
    assert csrf_token(page)


# ------------------------------------------------------------ sessions from before versions


def signed_in_as_dana(app, client) -> str:
    with app.app_context():
        make_user(db.session, username="dana")
    assert login(client, "dana", PASSWORD).status_code == 302
    with client.session_transaction() as session:
        return session["_user_id"]


def test_a_session_keeps_the_users_id_with_its_session_version(app, client):
    assert signed_in_as_dana(app, client).endswith(":0")


@pytest.mark.parametrize("stored", [
    "plain id",  # a cookie from before session versions: "<id>"
    "7:", ":0", "abc", "\u00b2:0", "1:0:0", "99999999999999999999:0", "1:99999999999999999999",
])
def test_a_session_from_before_session_versions_or_of_another_form_is_signed_out_cleanly(
        app, client, stored):
    session_id = signed_in_as_dana(app, client)
    old_cookie = session_id.partition(":")[0] if stored == "plain id" else stored
    with client.session_transaction() as session:
        session["_user_id"] = old_cookie
    api = client.get("/api/v1/me")
    with client.session_transaction() as session:
        session["_user_id"] = old_cookie
    page = client.get("/entities/")

    assert api.status_code == 401 and api.json["error"] == "unauthorized"
    assert page.status_code == 302 and page.location.startswith("/login")
    assert "Your session has ended. Please sign in again." in client.get(page.location).text
    assert login(client, "dana", PASSWORD).status_code == 302
    assert client.get("/entities/").status_code == 200

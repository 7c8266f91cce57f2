"""User management as an admin does it: accounts, roles, passwords, tokens; all audited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_token, make_user
from tests.helpers import csrf_token, login
from webapp.extensions import db
from webapp.models import ApiToken, AuditEntry, User

NEW_PASSWORD = "brand-new-secret-7"


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def post_form(browser, page_url: str, action: str, **data: str):
    """Fill in a form of ``page_url`` and send it, as the page would."""
    token = csrf_token(browser.get(page_url).text)
    return browser.post(action, data={"csrf_token": token, **data})


def last_audit(app) -> AuditEntry:
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        db.session.expunge(entry)
        return entry


def api_status(app, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return app.test_client().get("/api/v1/me", headers=headers).status_code


@pytest.fixture
def dana(app):
    """A support user to manage, signed in in a browser of her own."""
    with app.app_context():
        make_user(db.session, role="support", username="dana")
    browser = app.test_client()
    assert login(browser, "dana", PASSWORD).status_code == 302
    return browser


# ------------------------------------------------------------------ accounts


def test_the_list_shows_each_account_with_its_role_and_state(app, admin_client, dana):
    page = admin_client.get("/users/")

    assert page.status_code == 200
    row = re.search(r"<tr>\s*<td><a href=\"/users/\d+\">dana</a>.*?</tr>", page.text,
                    re.DOTALL).group(0)
    assert "support" in row and "enabled" in row


def test_an_admin_creates_a_user_who_can_then_sign_in(app, admin_client):
    response = post_form(admin_client, "/users/", "/users/", username="erin", role="auditor",
                         password=PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/users/{user_id(app, 'erin')}"
    assert login(app.test_client(), "erin", PASSWORD).status_code == 302
    entry = last_audit(app)
    assert (entry.event_type, entry.object_id, entry.diff["after"]) == (
        "user.create", str(user_id(app, "erin")), {"role": "auditor"})


@pytest.mark.parametrize("password, message", [
    ("short1", "Use at least 10 characters."),
    ("onlylettershere", "Mix letters with digits or symbols."),
])
def test_a_weak_password_is_refused_next_to_the_field(admin_client, password, message):
    page = post_form(admin_client, "/users/", "/users/", username="erin", role="support",
                     password=password)

    assert page.status_code == 400
    assert message in page.text


def test_a_taken_username_is_refused(admin_client, dana):
    page = post_form(admin_client, "/users/", "/users/", username="dana", role="support",
                     password=PASSWORD)

    assert page.status_code == 400
    assert "already exists" in page.text


def dana_with_token(app) -> tuple[int, str]:
    """Dana's user id and a fresh API token of hers."""
    with app.app_context():
        dana_user = db.session.scalar(select(User).where(User.username == "dana"))
        return dana_user.id, make_token(db.session, dana_user)


def test_disabling_a_user_ends_their_session_and_their_tokens(app, admin_client, dana):
    uid, token = dana_with_token(app)

    response = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/disable")

    assert response.status_code == 302
    assert last_audit(app).event_type == "user.disable"
    assert dana.get("/").status_code == 302  # sent to sign in
    assert api_status(app, token) == 401
    assert "This account is disabled." in login(app.test_client(), "dana", PASSWORD).text


def test_an_enabled_again_user_can_sign_in(app, admin_client, dana):
    uid = user_id(app, "dana")
    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/disable")

    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/enable")

    assert login(app.test_client(), "dana", PASSWORD).status_code == 302


def test_an_admin_cannot_disable_or_demote_themselves(app, admin_client):
    me = admin_client.get("/").text
    username = re.search(r'<span class="username">([^<]+)</span>', me).group(1)
    uid = user_id(app, username)

    disabled = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/disable")
    assert "You cannot disable your own account." in admin_client.get(disabled.location).text
    demoted = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/role", role="support")

    assert demoted.status_code == 400
    assert "You cannot change your own role." in demoted.text
    assert admin_client.get("/users/").status_code == 200  # still an enabled admin


# ------------------------------------------------------------------ roles and passwords


def test_a_new_role_takes_effect_at_once(app, admin_client, dana):
    uid = user_id(app, "dana")
    assert dana.get("/audit/").status_code == 403

    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/role", role="auditor")

    assert dana.get("/audit/").status_code == 200
    entry = last_audit(app)
    assert (entry.event_type, entry.diff) == (
        "user.role", {"before": {"role": "support"}, "after": {"role": "auditor"}})


def test_a_password_reset_replaces_the_password_and_lifts_a_lockout(app, admin_client, dana):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(app.test_client(), "dana", "wrong-guess-1")
    uid = user_id(app, "dana")

    response = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/password",
                         password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    assert response.status_code == 302
    entry = last_audit(app)
    assert entry.event_type == "user.password_reset"
    assert NEW_PASSWORD not in str(entry.diff) + (entry.message or "")
    assert login(app.test_client(), "dana", PASSWORD).status_code == 401
    assert login(app.test_client(), "dana", NEW_PASSWORD).status_code == 302


def test_a_password_reset_needs_the_same_password_twice(app, admin_client, dana):
    uid = user_id(app, "dana")

    page = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/password",
                     password=NEW_PASSWORD, confirm=NEW_PASSWORD + "x")

    assert page.status_code == 400
    assert "The two passwords differ." in page.text


# ------------------------------------------------------------------ open sessions


def my_username(browser) -> str:
    return re.search(r'<span class="username">([^<]+)</span>', browser.get("/").text).group(1)


def test_a_password_reset_signs_the_user_out_of_the_browser_they_are_using(app, admin_client,
                                                                           dana):
    uid = user_id(app, "dana")
    assert dana.get("/").status_code == 200

    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/password",
              password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    sent_to = dana.get("/entities/")
    assert sent_to.status_code == 302 and sent_to.location.startswith("/login")
    assert "Your session has ended. Please sign in again." in dana.get(sent_to.location).text
    assert login(dana, "dana", NEW_PASSWORD).status_code == 302
    assert dana.get("/").status_code == 200


def test_a_user_disabled_and_enabled_again_must_sign_in_again(app, admin_client, dana):
    uid = user_id(app, "dana")

    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/disable")
    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/enable")

    assert dana.get("/").status_code == 302
    assert login(dana, "dana", PASSWORD).status_code == 302
    assert dana.get("/").status_code == 200


def test_an_admin_who_resets_their_own_password_stays_signed_in_here_but_not_elsewhere(
        app, admin_client):
    me = my_username(admin_client)
    laptop = app.test_client()
    assert login(laptop, me, PASSWORD).status_code == 302
    uid = user_id(app, me)

    response = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/password",
                         password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    page = admin_client.get(response.location)
    assert page.status_code == 200
    assert "your other sessions are signed out" in page.text
    assert admin_client.get("/users/").status_code == 200
    assert laptop.get("/").status_code == 302


def test_a_new_role_leaves_the_user_signed_in(app, admin_client, dana):
    uid = user_id(app, "dana")

    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/role", role="config_editor")

    page = dana.get("/")
    assert page.status_code == 200
    assert "config editor" in page.text


def test_a_password_reset_leaves_the_users_api_tokens_working(app, admin_client, dana):
    uid, token = dana_with_token(app)

    post_form(admin_client, f"/users/{uid}", f"/users/{uid}/password",
              password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    assert api_status(app, token) == 200


# ------------------------------------------------------------------ tokens


def test_a_new_token_is_shown_once_and_works_on_the_api(app, admin_client, dana):
    uid = user_id(app, "dana")

    page = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/tokens", name="nightly import")
    token = re.search(r'<code class="token" id="new-token">([^<]+)</code>', page.text).group(1)

    assert page.status_code == 200
    assert api_status(app, token) == 200
    assert token not in admin_client.get(f"/users/{uid}").text
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert last_audit(app).event_type == "token.create"


def test_a_token_needs_a_name(app, admin_client, dana):
    uid = user_id(app, "dana")

    page = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/tokens", name="")

    assert page.status_code == 400
    assert 'id="new-token"' not in page.text


def test_a_revoked_token_stops_working_and_htmx_gets_the_token_list_back(app, admin_client, dana):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "dana"))
        token = make_token(db.session, user, "old script")
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "old script"))
    uid = user_id(app, "dana")
    html = admin_client.get(f"/users/{uid}").text

    partial = admin_client.post(f"/users/{uid}/tokens/{token_id}/revoke",
                                data={"csrf_token": csrf_token(html)},
                                headers={"HX-Request": "true"})

    assert partial.text.lstrip().startswith('<section id="tokens"')
    assert "revoked" in partial.text
    assert api_status(app, token) == 401
    assert last_audit(app).event_type == "token.revoke"


def test_revoking_another_users_token_through_the_wrong_address_is_not_found(
        app, admin_client, dana):
    with app.app_context():
        other = make_user(db.session, username="olga")
        make_token(db.session, other)
        token_id = db.session.scalar(select(ApiToken.id))
    uid = user_id(app, "dana")

    response = post_form(admin_client, f"/users/{uid}", f"/users/{uid}/tokens/{token_id}/revoke")

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["support", "config_editor", "auditor"])
def test_only_admins_manage_users(login_as, role):
    assert login_as(role).get("/users/").status_code == 403


def test_an_id_beyond_64_bits_is_simply_not_found(admin_client):
    assert admin_client.get(f"/users/{2**70}").status_code == 404

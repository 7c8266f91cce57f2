"""Browser sessions end where the server says so: signing out, signing in over a session,
and a sign-in's age. A cookie copied before any of these is worth nothing after it."""
from __future__ import annotations

from flask.testing import FlaskClient

from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token, login, logout
from webapp.extensions import db


def copy_of(browser: FlaskClient, app) -> FlaskClient:
    """Another browser holding the same session cookie (a cookie copied, or stolen)."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def test_a_cookie_copied_before_signing_out_gets_the_sign_in_page_after_it(app, admin_client):
    copied = copy_of(admin_client, app)
    assert copied.get("/").status_code == 200

    logout(admin_client)
    page = copied.get("/entities/")
    api = copied.get("/api/v1/me")

    assert page.status_code == 302 and page.location.startswith("/login")
    assert api.status_code == 401 and api.json["error"] == "unauthorized"


def test_signing_out_in_one_browser_leaves_the_users_other_browsers_signed_in(app):
    with app.app_context():
        make_user(db.session, username="dana")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "dana", PASSWORD)
    login(phone, "dana", PASSWORD)

    logout(laptop)

    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 200


def test_a_signed_in_person_opening_the_sign_in_page_is_taken_where_they_were_going(
        admin_client):
    plain = admin_client.get("/login")
    onward = admin_client.get("/login?next=/entities/")
    elsewhere = admin_client.get("/login?next=//evil.example/")

    assert (plain.status_code, plain.location) == (302, "/")
    assert onward.location == "/entities/"
    assert elsewhere.location == "/"
    assert "You are signed out" not in admin_client.get("/", follow_redirects=True).text


def test_signing_in_again_and_again_while_signed_in_never_signs_you_out(app, admin_client):
    with app.app_context():
        make_user(db.session, username="dana")

    for _ in range(4):
        page = admin_client.get("/login", follow_redirects=True)
        answer = admin_client.post("/login", data={
            "csrf_token": csrf_token(page.text), "username": "dana", "password": PASSWORD})
        assert answer.status_code == 302 and answer.location == "/"
        landed = admin_client.get("/")
        assert landed.status_code == 200 and "You are signed out" not in landed.text
        assert admin_client.get("/api/v1/me").json["username"] == "dana"


def test_signing_in_as_someone_else_ends_the_session_it_replaces(app, admin_client):
    with app.app_context():
        make_user(db.session, username="dana")
    copied = copy_of(admin_client, app)

    token = csrf_token(admin_client.get("/").text)
    admin_client.post("/login", data={"csrf_token": token, "username": "dana",
                                      "password": PASSWORD})

    assert admin_client.get("/api/v1/me").json["username"] == "dana"
    assert copied.get("/").status_code == 302


def test_a_sign_in_lasts_at_most_the_session_lifetime(app, admin_client, clock):
    clock.advance(seconds=app.permanent_session_lifetime.total_seconds() - 60)
    assert admin_client.get("/").status_code == 200

    clock.advance(seconds=120)

    assert admin_client.get("/").status_code == 302

"""What the sign-in form says never tells a stranger which usernames exist, and names are
matched without regard to case."""
from __future__ import annotations

import re

from tests.factories import PASSWORD, make_user
from tests.helpers import login
from webapp.extensions import db

_ERRORS = re.compile(r'<ul class="errors"[^>]*>(.*?)</ul>', re.DOTALL)


def answer(response) -> tuple[int, list[str]]:
    """The status and the messages next to the fields: what a stranger learns."""
    return response.status_code, _ERRORS.findall(response.text)


def test_a_locked_account_and_an_unknown_name_get_the_same_answer(app, client):
    with app.app_context():
        make_user(db.session, username="dana")
    tries = app.config["LOGIN_MAX_FAILURES"] + 1

    real = [answer(login(client, "dana", "guess-number-1")) for _ in range(tries)]
    unknown = [answer(login(client, "nobody", "guess-number-1")) for _ in range(tries)]

    assert real == unknown
    assert answer(login(client, "dana", PASSWORD)) == unknown[-1]  # locked, even so


def test_a_failed_sign_in_explains_the_lockout_to_everyone_alike(app, client):
    page = login(client, "nobody", "guess-number-1").text

    assert "Wrong username or password." in page
    assert f"After {app.config['LOGIN_MAX_FAILURES']} wrong passwords in a row" in page


def test_a_locked_account_is_still_recorded_as_locked_for_the_administrators(app, client):
    from tests.web.test_auth import audit_events

    with app.app_context():
        make_user(db.session, username="dana")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "dana", "guess-number-1")

    assert "login.locked" in audit_events(app)


def test_signing_in_ignores_the_case_of_the_username(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    assert login(client, " DaNa ", PASSWORD).status_code == 302
    assert client.get("/api/v1/me").json["username"] == "dana"

"""Usernames: one account per name whatever its case, and only plain characters in names."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token, login
from webapp.extensions import db
from webapp.models import User

RULE = "Use 2 to 80 characters: letters a to z, digits, dots, underscores or hyphens"


def create_on_the_page(admin_client, username: str):
    token = csrf_token(admin_client.get("/users/").text)
    return admin_client.post("/users/", data={"csrf_token": token, "username": username,
                                              "role": "support", "password": PASSWORD})


def usernames(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(User.username)))


def test_a_name_differing_only_in_case_from_an_existing_one_is_refused(app, admin_client):
    with app.app_context():
        make_user(db.session, username="dana")

    page = create_on_the_page(admin_client, "Dana")

    assert page.status_code == 400
    assert "&#39;dana&#39; already exists" in page.text or "'dana' already exists" in page.text
    assert usernames(app).count("dana") == 1 and "Dana" not in usernames(app)


def test_a_new_name_is_kept_in_lower_case_and_signs_in_in_any_case(app, admin_client):
    response = create_on_the_page(admin_client, "  Erin.O-Neil_2 ")

    assert response.status_code == 302
    assert "erin.o-neil_2" in usernames(app)
    assert login(app.test_client(), "ERIN.O-NEIL_2", PASSWORD).status_code == 302


@pytest.mark.parametrize("username", [
    "<b>eve</b>", "eve smith", "e", "x" * 81, "ève", "eve;drop", "-eve", ".eve", "eve@example",
])
def test_a_name_outside_the_plain_characters_is_refused_next_to_the_field(
        app, admin_client, username):
    page = create_on_the_page(admin_client, username)

    assert page.status_code == 400
    assert RULE in page.text
    assert 'id="username-errors"' in page.text
    assert len(usernames(app)) == 1  # only the admin


def test_the_form_says_which_names_are_accepted_before_anyone_types_one(admin_client):
    page = admin_client.get("/users/").text

    assert "letters a to z, digits, dots, underscores or hyphens" in page
    assert "sign-in ignores case" in page


def test_the_command_line_refuses_the_same_names(app):
    runner = app.test_cli_runner()

    taken = runner.invoke(args=["users", "create", "admin", "--role", "admin"])
    again = runner.invoke(args=["users", "create", "ADMIN", "--role", "admin"])
    markup = runner.invoke(args=["users", "create", "<i>x</i>", "--role", "admin"])

    assert taken.exit_code == 0
    assert again.exit_code == 1 and "'admin' already exists" in again.output
    assert markup.exit_code == 1 and RULE in markup.output


def test_the_command_line_says_the_name_as_it_is_kept(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "Ann.Lee", "--role", "auditor"])

    assert "Created auditor 'ann.lee'." in result.output
    assert "ann.lee" in usernames(app)

"""Accounts from the command line (CONTRACT §3 and §11): a lost password is set again,
the accounts are listed, and `make run`'s first start shows the admin password plainly."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tests.helpers import login
from webapp.extensions import db
from webapp.models import AuditEntry, User

NEW_PASSWORD = "a-new-secret-42"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args, stdin=None: runner.invoke(args=list(args), input=stdin)


def test_set_password_reads_stdin_and_only_the_new_password_signs_in(app, cli):
    with app.app_context():
        make_user(db.session, role="admin", username="admin")

    result = cli("users", "set-password", "admin", "--password-stdin", stdin=NEW_PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert "New password set for admin" in result.output
    assert login(app.test_client(), "admin", NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "admin", PASSWORD).status_code == 401


def test_set_password_ends_the_users_sessions_and_lifts_a_lockout(app, cli):
    with app.app_context():
        make_user(db.session, username="dana")
    signed_in, stranger = app.test_client(), app.test_client()
    login(signed_in, "dana", PASSWORD)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(stranger, "dana", "guess-number-1")

    cli("users", "set-password", "dana", "--password-stdin", stdin=NEW_PASSWORD + "\n")

    assert signed_in.get("/").status_code == 302
    assert login(app.test_client(), "dana", NEW_PASSWORD).status_code == 302


def test_set_password_is_audited_as_a_reset_from_the_command_line(app, cli):
    with app.app_context():
        make_user(db.session, username="dana")

    cli("users", "set-password", "dana", "--password-stdin", stdin=NEW_PASSWORD + "\n")

    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert (entry.event_type, entry.message) == ("user.password_reset",
                                                     "reset the password of dana")


def test_set_password_without_stdin_prints_a_generated_password_once(app, cli):
    with app.app_context():
        make_user(db.session, username="dana")

    result = cli("users", "set-password", "DANA")
    password = result.output.rsplit(": ", 1)[1].strip()

    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "dana", password).status_code == 302


def test_set_password_refuses_an_unknown_user_and_a_weak_password(app, cli):
    with app.app_context():
        make_user(db.session, username="dana")

    unknown = cli("users", "set-password", "nobody", "--password-stdin", stdin=NEW_PASSWORD)
    weak = cli("users", "set-password", "dana", "--password-stdin", stdin="short\n")

    assert unknown.exit_code == 1 and "No user named 'nobody'" in unknown.output
    assert weak.exit_code == 1 and "Use at least 10 characters." in weak.output
    assert login(app.test_client(), "dana", PASSWORD).status_code == 302


def test_set_password_says_when_the_account_is_disabled(app, cli):
    with app.app_context():
        make_user(db.session, username="dana")
        db.session.scalar(select(User).filter_by(username="dana")).is_enabled = False
        db.session.commit()

    result = cli("users", "set-password", "dana", "--password-stdin", stdin=NEW_PASSWORD)

    assert result.exit_code == 0
    assert "dana is disabled" in result.output


def test_users_list_shows_each_name_role_state_and_last_sign_in(app, cli, clock):
    with app.app_context():
        make_user(db.session, role="admin", username="ada")
        make_user(db.session, role="auditor", username="olga")
        db.session.scalar(select(User).filter_by(username="olga")).is_enabled = False
        db.session.commit()
    login(app.test_client(), "ada", PASSWORD)

    lines = cli("users", "list").output.splitlines()

    assert lines[0].split() == ["NAME", "ROLE", "ENABLED", "LAST", "SIGN-IN"]
    ada, olga = (line.split() for line in lines[1:])
    assert ada[:3] == ["ada", "admin", "yes"]
    assert " ".join(ada[3:]) == clock.now.strftime("%Y-%m-%d %H:%M UTC")
    assert olga == ["olga", "auditor", "no", "never"]


def test_users_list_says_so_when_there_are_no_users(cli):
    result = cli("users", "list")

    assert result.exit_code == 0 and result.output.strip() == "No users yet."


def test_the_first_start_shows_the_generated_admin_password_in_a_box(app, cli):
    output = cli("bootstrap").output
    box = [line for line in output.splitlines() if line.startswith(("+", "|"))]
    password = re.search(r"\|\s+password:\s+(\S+)\s+\|", output)[1]

    assert len(box) >= 5 and len({len(line) for line in box}) == 1  # one closed rectangle
    assert "users set-password admin" in output
    assert login(app.test_client(), "admin", password).status_code == 302
    assert "password" not in cli("bootstrap").output  # shown on the first start only

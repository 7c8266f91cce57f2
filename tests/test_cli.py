"""The command line of CONTRACT.md §3 that the foundation provides."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.factories import PASSWORD
from tests.helpers import login
from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args, stdin=None: runner.invoke(args=list(args), input=stdin)


def test_users_create_reads_the_password_from_stdin_and_the_user_can_sign_in(app, cli):
    result = cli("users", "create", "ann", "--role", "auditor", "--password-stdin",
                 stdin=PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "ann", PASSWORD).status_code == 302


def test_users_create_without_a_password_prints_a_generated_one_once(app, cli):
    result = cli("users", "create", "ann", "--role", "support")
    password = result.output.rsplit(": ", 1)[1].strip()

    assert result.exit_code == 0
    assert login(app.test_client(), "ann", password).status_code == 302


def test_generated_passwords_always_pass_the_password_policy():
    from webapp.core.users import accounts

    # token_urlsafe alone is all letters ~4 % of the time: 300 draws would meet that ~12 times.
    for _ in range(300):
        accounts.check_password_policy(accounts.generate_password())


def test_users_create_refuses_a_weak_password_and_says_why(cli):
    result = cli("users", "create", "ann", "--role", "admin", "--password-stdin",
                 stdin="short\n")

    assert result.exit_code == 1
    assert "Use at least 10 characters." in result.output


def test_users_create_refuses_a_taken_name_and_an_unknown_role(cli):
    cli("users", "create", "ann", "--role", "admin")

    assert "already exists" in cli("users", "create", "ann", "--role", "admin").output
    assert cli("users", "create", "bob", "--role", "superuser").exit_code == 2


def test_tokens_create_prints_a_token_the_api_accepts(app, cli):
    cli("users", "create", "ann", "--role", "auditor")

    token = cli("tokens", "create", "ann").output.strip()
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.json == {"username": "ann", "role": "auditor"}


def test_tokens_create_for_an_unknown_user_fails_with_a_message(cli):
    result = cli("tokens", "create", "nobody")

    assert result.exit_code == 1
    assert "No user named 'nobody'" in result.output


def test_audit_verify_passes_on_an_intact_log_and_names_the_first_tampered_row(app, cli):
    for _ in range(3):
        login(app.test_client(), "nobody", "guess-number-1")
    assert cli("audit", "verify").output.startswith("ok: 3 entries verified")

    with app.app_context():
        db.session.execute(text("UPDATE audit_entries SET actor = 'someone' WHERE id = 2"))
        db.session.commit()
    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert "first bad id 2" in result.output


def test_audit_heads_written_down_catch_a_chain_rewritten_and_rehashed_later(app, cli,
                                                                           tmp_path):
    for _ in range(3):
        login(app.test_client(), "nobody", "guess-number-1")
    head = cli("audit", "head")
    anchors = tmp_path / "heads.jsonl"
    anchors.write_text(head.output)
    assert json.loads(head.output)["id"] == 3
    assert "all 1 heads written down" in cli("audit", "verify", "--anchor", str(anchors)).output

    with app.app_context():  # someone with database access rewrites entry 2, rehashes 2 and 3
        from webapp.core.audit import chain as audit
        from webapp.models import AuditEntry
        rows = [db.session.get(AuditEntry, i) for i in (2, 3)]
        rows[0].actor = "someone"
        for row in rows:
            row.prev_hash = db.session.get(AuditEntry, row.id - 1).hash
            row.hash = audit.entry_hash(row, row.prev_hash)
            db.session.flush()
        db.session.commit()
    assert cli("audit", "verify").exit_code == 0  # the chain alone cannot tell
    result = cli("audit", "verify", "--anchor", str(anchors))

    assert result.exit_code == 1
    assert "REWRITTEN: entry #3 has hash" in result.output


def test_an_anchor_file_that_is_not_heads_is_refused_with_the_line(cli, tmp_path):
    login_attempts = tmp_path / "heads.txt"
    login_attempts.write_text("audit head #3 abc\n")

    result = cli("audit", "verify", "--anchor", str(login_attempts))

    assert result.exit_code == 1
    assert "Line 1 of the anchor file is not a head" in result.output


def test_flask_db_upgrade_builds_the_schema_from_the_environment_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "DATABASE_URL": url, "STATEKEEPER_INSTANCE": str(tmp_path / "inst")}
    env.pop("SECRET_KEY", None)

    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)

    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    assert {"users", "entities", "audit_entries"} <= set(inspect(engine).get_table_names())
    engine.dispose()
    assert (tmp_path / "inst" / "secret_key").exists()

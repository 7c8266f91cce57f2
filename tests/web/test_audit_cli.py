"""`flask audit verify` and `flask audit archive`: the chain checked from the last checkpoint."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.factories import make_audit_entries
from webapp.extensions import db


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture
def aged_log(app, clock):
    with app.app_context():
        old = make_audit_entries(db.session, 6, clock() - timedelta(days=400))
        new = make_audit_entries(db.session, 2, clock())
    return old, new


def test_archive_moves_old_entries_to_the_instance_folder(app, cli, aged_log):
    result = cli("audit", "archive")

    assert result.exit_code == 0, result.output
    assert f"Archived 6 entries (up to #{aged_log[0][-1]})" in result.output
    [archive] = (Path(app.instance_path) / "audit-archive").glob("*.jsonl")
    assert len(archive.read_text().splitlines()) == 6


def test_verify_after_archiving_checks_the_rest_of_the_chain(cli, aged_log):
    cli("audit", "archive")

    result = cli("audit", "verify")

    assert result.exit_code == 0
    assert result.output.startswith("ok: 3 entries verified")  # 2 new + the archiving itself


def test_verify_after_archiving_still_catches_tampering(app, cli, aged_log):
    cli("audit", "archive")
    with app.app_context():
        db.session.execute(text("UPDATE audit_entries SET risk = 'low' WHERE id = :id"),
                           {"id": aged_log[1][1]})
        db.session.execute(text("UPDATE audit_entries SET actor = 'x' WHERE id = :id"),
                           {"id": aged_log[1][1]})
        db.session.commit()

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert f"first bad id {aged_log[1][1]}" in result.output


def test_archive_with_nothing_old_enough_says_so(cli, aged_log):
    result = cli("audit", "archive", "--days", "500")

    assert result.exit_code == 0
    assert result.output.strip() == "Nothing to archive: no entries older than 500 days."

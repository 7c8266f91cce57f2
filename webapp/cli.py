"""The flask commands of CONTRACT.md §3 (plus `bootstrap`, used by `make run`)."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from webapp.core.audit import chain as audit
from webapp.core.base.errors import StatekeeperError
from webapp.core.base.transactions import write_transaction
from webapp.core.users import accounts
from webapp.extensions import db
from webapp.models import ROLES, User

users_cli = AppGroup("users", help="Manage users.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
audit_cli = AppGroup("audit", help="The audit log.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(name: str, role: str, password_stdin: bool) -> None:
    """Create a user; without --password-stdin a password is generated and printed once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    try:
        with write_transaction(db.session):
            accounts.create_user(db.session, name, role, password)
    except StatekeeperError as err:
        raise click.ClickException(_explain(err)) from err
    click.echo(f"Created {role} {name!r}.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@tokens_cli.command("create")
@click.argument("name")
def tokens_create(name: str) -> None:
    """Print a new API token for user NAME (only its hash is stored)."""
    with write_transaction(db.session):
        user = db.session.scalar(select(User).where(User.username == name))
        if user is None:
            raise click.ClickException(f"No user named {name!r}.")
        token = accounts.create_token(db.session, user, f"cli {name}")
    click.echo(token)


@audit_cli.command("verify")
@click.option("--anchor", "anchors", type=click.File("r"), default=None,
              help="Also check heads written down earlier: a file of `audit head` lines.")
def audit_verify(anchors) -> None:
    """Check the audit hash chain; exit 1 naming the first bad id when it is broken, or the
    first head written down earlier that the chain no longer has."""
    result = audit.verify(db.session)
    if not result.ok:
        click.echo(f"BROKEN: first bad id {result.first_bad_id} "
                   f"(after {result.checked} good entries)")
        sys.exit(1)
    click.echo(f"ok: {result.checked} entries verified")
    if anchors is None:
        return
    heads = [_head(line, number) for number, line in enumerate(anchors, 1) if line.strip()]
    for written in heads:
        problem = audit.check_head(db.session, written)
        if problem:
            click.echo(f"REWRITTEN: {problem}")
            sys.exit(1)
    click.echo(f"ok: the chain still has all {len(heads)} heads written down")


@audit_cli.command("head")
def audit_head() -> None:
    """Print the newest entry's id and hash as a JSON line, to keep outside the database."""
    from webapp.web_context import now

    found = audit.head(db.session)
    if found is None:
        raise click.ClickException("The audit log is empty.")
    click.echo(json.dumps({"id": found.id, "hash": found.hash, "at": now().isoformat()}))


def _head(line: str, number: int) -> audit.Head:
    """One line of an anchor file: ``audit head``'s JSON, or a log line with its fields."""
    try:
        fields = json.loads(line)
        return audit.Head(int(fields.get("audit_head_id", fields.get("id"))),
                          str(fields.get("audit_head_hash", fields.get("hash"))))
    except (ValueError, TypeError, AttributeError) as exc:
        raise click.ClickException(f"Line {number} of the anchor file is not a head: "
                                   f"{line.strip()[:80]!r}") from exc


@audit_cli.command("archive")
@click.option("--days", type=click.IntRange(1, 36500), default=None,
              help="Keep this many days instead of the audit_retention_days setting.")
def audit_archive(days: int | None) -> None:
    """Move entries past the retention period to instance/audit-archive/ (chain stays verifiable)."""
    from pathlib import Path

    from webapp.core.audit import retention
    from webapp.core.changes.manager import StateManager
    from webapp.web_context import now

    days = days or StateManager.get_instance().settings.get(db.session, "audit_retention_days")
    result = retention.archive_expired(db.session, Path(current_app.instance_path), days, now())
    if result is None:
        click.echo(f"Nothing to archive: no entries older than {days} days.")
        return
    click.echo(f"Archived {result.archived} entries (up to #{result.up_to_id}) to {result.path}")


@click.command("bootstrap")
def bootstrap() -> None:
    """Apply migrations, load demo data on first start, make sure `admin` exists."""
    upgrade()
    _ensure_admin()
    from webapp.cli_data import seed_if_empty

    seed_if_empty()


def _ensure_admin() -> None:
    if db.session.scalar(select(User).where(User.username == "admin")):
        return
    password = current_app.config.get("ADMIN_PASSWORD") or accounts.generate_password()
    with write_transaction(db.session):
        accounts.create_user(db.session, "admin", "admin", password)
    if not current_app.config.get("ADMIN_PASSWORD"):
        click.echo(f"Created user 'admin' with password (shown once): {password}")


def _explain(err: StatekeeperError) -> str:
    fields = getattr(err, "fields", {}) or {}
    return " ".join([err.message, *fields.values()])


def init_app(app: Flask) -> None:
    from webapp.cli_data import register as register_data_commands

    for command in (users_cli, tokens_cli, audit_cli, bootstrap):
        app.cli.add_command(command)
    register_data_commands(app)

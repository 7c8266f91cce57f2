"""The flask commands of CONTRACT.md §3 (plus `bootstrap`, used by `make run`)."""
from __future__ import annotations

import json
import os
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import StatekeeperError
from webapp.core.base.transactions import write_transaction
from webapp.core.users import accounts
from webapp.core.users import admin as user_admin
from webapp.extensions import db
from webapp.models import ROLES, User

users_cli = AppGroup("users", help="Manage users.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
audit_cli = AppGroup("audit", help="The audit log.")
#: Who the audit log names for account changes made here (no username has a space).
COMMAND_LINE = Actor("command line", "admin")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(name: str, role: str, password_stdin: bool) -> None:
    """Create a user; without --password-stdin a password is generated and printed once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    try:
        with write_transaction(db.session):
            user = accounts.create_user(db.session, name, role, password)
    except StatekeeperError as err:
        raise click.ClickException(_explain(err)) from err
    click.echo(f"Created {role} {user.username!r}.")  # as stored: in lower case
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@users_cli.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(name: str, password_stdin: bool) -> None:
    """Give user NAME a new password (a lost admin password too): lifts any lockout and ends
    the user's browser sessions. Without --password-stdin one is generated and printed once."""
    from webapp.web_context import now

    password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    user = accounts.user_named(db.session, name)
    if user is None:
        raise click.ClickException(f"No user named {name!r}.")
    try:
        user_admin.reset_password(db.session, COMMAND_LINE, user.id, password, now())
    except StatekeeperError as err:
        raise click.ClickException(_explain(err)) from err
    click.echo(f"New password set for {user.username}; any lockout is lifted and their "
               "sessions are signed out.")
    if not user.is_enabled:
        click.echo(f"Note: {user.username} is disabled and cannot sign in until an admin "
                   "enables the account.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@users_cli.command("list")
def users_list() -> None:
    """Every account: name, role, whether it may sign in, and its last sign-in."""
    rows = [(u.username, u.role, "yes" if u.is_enabled else "no",
             u.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_login_at else "never")
            for u in (row.user for row in user_admin.list_users(db.session))]
    if not rows:
        click.echo("No users yet.")
        return
    table = [("NAME", "ROLE", "ENABLED", "LAST SIGN-IN"), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        click.echo("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[3]]))


@tokens_cli.command("create")
@click.argument("name")
def tokens_create(name: str) -> None:
    """Print a new API token for user NAME (only its hash is stored)."""
    with write_transaction(db.session):
        user = accounts.user_named(db.session, name)
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
@with_appcontext
def bootstrap() -> None:
    """Apply migrations, load demo data on first start, make sure `admin` exists."""
    upgrade()
    _sync_field_indexes()
    generated = _ensure_admin()
    from webapp.cli_data import seed_if_empty

    seed_if_empty()
    if generated:  # last, so that nothing printed before the server starts scrolls it away
        click.secho(_boxed([
            "Created the user admin. Its password, shown only this once:", "",
            f"    password:  {generated}", "",
            f"Sign in at http://127.0.0.1:{os.environ.get('PORT', '5000')}/login and keep it safe.",
            "Lost it? flask --app wsgi users set-password admin",
        ]), fg="yellow", bold=True)


def _sync_field_indexes() -> None:
    """The indexes the stored workflows' filterable fields need (saving a workflow keeps them
    after this; a database from before they existed gets them here)."""
    from webapp.core.workflows.registry import sync_field_indexes

    with write_transaction(db.session):
        created, dropped = sync_field_indexes(db.session)
    if created or dropped:
        click.echo(f"Field indexes: {len(created)} created, {len(dropped)} dropped.")


def _ensure_admin() -> str | None:
    """Create `admin` on the first start; returns its password when it was generated."""
    if db.session.scalar(select(User).where(User.username == "admin")):
        return None
    password = current_app.config.get("ADMIN_PASSWORD") or accounts.generate_password()
    with write_transaction(db.session):
        accounts.create_user(db.session, "admin", "admin", password)
    if current_app.config.get("ADMIN_PASSWORD"):
        click.echo("Created user 'admin' with the password from STATEKEEPER_ADMIN_PASSWORD.")
        return None
    return password


def _boxed(lines: list[str]) -> str:
    """Lines in a frame with blank lines around it: the one thing on the first start's
    screen that must not pass unread among the migration and server logs."""
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 4) + "+"
    body = [f"|  {line.ljust(width)}  |" for line in ["", *lines, ""]]
    return "\n".join(["", rule, *body, rule, ""])


def _explain(err: StatekeeperError) -> str:
    fields = getattr(err, "fields", {}) or {}
    return " ".join([err.message, *fields.values()])


def init_app(app: Flask) -> None:
    from webapp.cli_counts import counts_cli
    from webapp.cli_data import register as register_data_commands
    from webapp.cli_keys import keys_cli
    from webapp.cli_timers import timers_cli

    for command in (users_cli, tokens_cli, audit_cli, keys_cli, counts_cli, timers_cli,
                    bootstrap):
        app.cli.add_command(command)
    register_data_commands(app)

"""Helpers for driving the app as a browser does (forms, tokens, pages) and for schemas."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlencode

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import Engine, inspect
from werkzeug.test import TestResponse

from webapp.extensions import db
from webapp.models import Base
from webapp.permissions import NAVIGATION

#: What each role may reach from the navigation (CONTRACT.md §4).
EVERYONE = {"Dashboard", "Entities", "Workflows", "Sweeps", "Events", "Settings", "Reports"}
NAV_BY_ROLE = {
    "admin": EVERYONE | {"Bulk", "Approvals", "Audit", "Users"},
    "support": EVERYONE | {"Bulk", "Approvals"},
    "config_editor": EVERYONE,
    "auditor": EVERYONE | {"Audit"},
}


def existing_nav_labels(app: Flask) -> set[str]:
    """Navigation entries whose page has been built so far."""
    return {label for label, endpoint, _ in NAVIGATION if endpoint in app.view_functions}


_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_NAV = re.compile(r'<nav class="mainnav"[^>]*>(.*?)</nav>', re.DOTALL)
_LINK_TEXT = re.compile(r"<a [^>]*>([^<]+)</a>")


def csrf_token(html: str) -> str:
    """The value of the page's hidden csrf_token input (the first form's)."""
    match = _CSRF_INPUT.search(html)
    assert match, "the page has no csrf_token input"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str, next_url: str | None = None
          ) -> TestResponse:
    """Fill in and submit the sign-in form, as a person would."""
    path = "/login" if next_url is None else f"/login?{urlencode({'next': next_url})}"
    token = csrf_token(client.get(path).text)
    return client.post(path, data={"csrf_token": token, "username": username,
                                   "password": password})


def logout(client: FlaskClient) -> TestResponse:
    """Press "Sign out" on the dashboard."""
    token = csrf_token(client.get("/").text)
    return client.post("/logout", data={"csrf_token": token})


def nav_labels(html: str) -> list[str]:
    """The entries of the main navigation, in order."""
    match = _NAV.search(html)
    return [label.strip() for label in _LINK_TEXT.findall(match.group(1))] if match else []


class Clock:
    """A clock the test moves by hand (passed to the app as CLOCK)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def schema(engine: Engine) -> dict[str, dict[str, list[str]]]:
    """Every table with its columns and indexes, as the database reports them."""
    inspector = inspect(engine)
    return {
        table: {
            "columns": sorted(c["name"] for c in inspector.get_columns(table)),
            "indexes": sorted(i["name"] for i in inspector.get_indexes(table)),
        }
        for table in inspector.get_table_names()
    }


def differences_from_models(engine: Engine) -> list[tuple]:
    """What autogenerate would put in a new migration: empty when models and schema agree.

    Objects only the database has (the search index's FTS tables, a trigram index) are
    made by raw SQL in migrations on purpose, so only what the models declare is compared.
    """
    def declared(_obj: object, _name: str, _type: str, reflected: bool, model: object) -> bool:
        return not (reflected and model is None)

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": declared})
        return compare_metadata(context, Base.metadata)


def upgrade_downgrade_upgrade(app: Flask) -> list[dict[str, dict[str, list[str]]]]:
    """The schema after upgrading to head, downgrading to base, and upgrading again."""
    snapshots = []
    with app.app_context():
        for step in (upgrade, lambda: downgrade(revision="base"), upgrade):
            step()
            snapshots.append(schema(db.engine))
    return snapshots

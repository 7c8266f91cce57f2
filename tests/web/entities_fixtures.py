"""Fixtures for the dashboard and entities page tests (imported by those test modules).

The app's StateManager is a process-wide singleton: each test gets a fresh one on the test's
clock (so rule ages, activity ages and the dashboard cache follow ``clock.advance``), and no
cached dashboard figures from an earlier test's database.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_entity, make_realestate
from tests.helpers import Clock, csrf_token
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.lists import overview
from webapp.core.workflows import packs
from webapp.extensions import db

SEEDER = Actor("seeder", "admin")
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fresh_state_manager(clock: Clock) -> Iterator[None]:
    StateManager.reset_instance()
    overview.CACHE.clear()
    StateManager.get_instance().clock = clock
    yield
    StateManager.reset_instance()


@pytest.fixture
def sm(app: Flask) -> StateManager:
    """The app's StateManager with the built-in packs installed."""
    with app.app_context():
        manager = StateManager.get_instance()
        with write_transaction(db.session):
            packs.install_packs(db.session, manager.workflows, SEEDER, manager.clock())
    return manager


@dataclass
class Estate:
    """Ids of a builder, its community, the community's properties and a sales rep."""

    builder: int
    community: int
    properties: list[int]
    rep: int


@pytest.fixture
def estate(app: Flask, sm: StateManager) -> Estate:
    with app.app_context():
        made = make_realestate(sm, db.session, SEEDER, properties=3, reps=1)
        return Estate(made.builder.id, made.community.id, [p.id for p in made.properties],
                      made.reps[0].id)


@pytest.fixture
def create(app: Flask, sm: StateManager) -> Callable[..., int]:
    """``create("ticket", name="Printer jammed", data={...})`` -> the new entity's id."""

    def _create(type_: str, name: str | None = None, **fields: Any) -> int:
        with app.app_context():
            return make_entity(sm, db.session, SEEDER, type_, name, **fields).id

    return _create


@pytest.fixture
def run(app: Flask, sm: StateManager) -> Callable[..., Any]:
    """``run(lambda s: sm.transition(s, SEEDER, id, "sold"))`` inside an app context."""

    def _run(command: Callable[[Any], Any]) -> Any:
        with app.app_context():
            return command(db.session)

    return _run


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None,
         htmx: bool = True) -> Any:
    """POST a form as the page would: with the session's CSRF token (and as htmx)."""
    token = csrf_token(client.get("/entities/").text)
    return client.post(url, data={"csrf_token": token, **(data or {})},
                       headers={**HTMX, "X-CSRFToken": token} if htmx else {})

"""Migration 0015 starts SLA clocks for the tickets already there (on SQLite and PostgreSQL):
running from the upgrade on, with the goal their priority chooses; the downgrade drops them."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from webapp.core.workflows.registry import load_pack
from webapp.extensions import db
from webapp.models import utcnow
from webapp.models.base import UTCDateTime

TIMES = ("created_at", "updated_at", "status_changed_at", "last_activity_at")


def _tickets_from_before_0015_get_running_clocks(app: Flask) -> None:
    definitions = sa.table("workflow_definitions", sa.column("entity_type"), sa.column("pack"),
                           sa.column("definition", sa.JSON), sa.column("version"),
                           sa.column("updated_at", UTCDateTime()))
    entities = sa.table("entities", *(sa.column(c) for c in ("id", "type", "name", "status",
                                                              "version")),
                        sa.column("data", sa.JSON), *(sa.column(c, UTCDateTime()) for c in TIMES))
    ticket = load_pack("facilities")["types"]["ticket"]
    with app.app_context():
        upgrade(revision="0014")
        before = utcnow()
        with db.engine.begin() as conn:
            conn.execute(definitions.insert().values(entity_type="ticket", pack="facilities",
                                                     definition=ticket, version=1,
                                                     updated_at=before))
            conn.execute(entities.insert(), [
                {"id": i, "type": "ticket", "name": f"Ticket {i}", "status": status,
                 "version": 1, "data": {"priority": priority}, **dict.fromkeys(TIMES, before)}
                for i, status, priority in ((1, "OPEN", "CRITICAL"), (2, "ONHOLD", "LOW"),
                                            (3, "CLOSED", "HIGH"))])
        upgrade(revision="0015")
        with db.engine.connect() as conn:
            clocks = {r.entity_id: r for r in conn.execute(sa.text(
                "SELECT entity_id, state, goal_hours, elapsed_seconds FROM sla_clocks"))}
        assert {i: (c.state, c.goal_hours, c.elapsed_seconds) for i, c in clocks.items()} == {
            1: ("running", 4.0, 0.0), 2: ("paused", 72.0, 0.0), 3: ("stopped", 8.0, 0.0)}
        downgrade(revision="0014")
        assert "sla_clocks" not in sa.inspect(db.engine).get_table_names()


def test_tickets_from_before_0015_get_running_clocks_on_sqlite(make_app):
    _tickets_from_before_0015_get_running_clocks(make_app(migrate=False))


@pytest.mark.postgres
def test_tickets_from_before_0015_get_running_clocks_on_postgres(make_app, postgres_server):
    url = postgres_server.create_database(f"test_{uuid.uuid4().hex[:12]}")
    _tickets_from_before_0015_get_running_clocks(make_app(url, migrate=False))

"""Building an app changes nothing that other apps use: each has its own StateManager."""
from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import isolated_config
from webapp import create_app
from webapp.core.changes.manager import StateManager

MONDAY = datetime(2026, 1, 5, 9, tzinfo=UTC)
FRIDAY = datetime(2026, 1, 9, 17, tzinfo=UTC)


def test_two_apps_keep_their_own_state_manager_and_clock(tmp_path):
    config = isolated_config(tmp_path)
    monday = create_app(config, CLOCK=lambda: MONDAY, SQLALCHEMY_DATABASE_URI="sqlite://")
    friday = create_app(config, CLOCK=lambda: FRIDAY, SQLALCHEMY_DATABASE_URI="sqlite://")

    with monday.app_context():
        first = StateManager.get_instance()
    with friday.app_context():
        second = StateManager.get_instance()

    assert first is monday.extensions["state_manager"]
    assert second is friday.extensions["state_manager"]
    assert (first.clock(), second.clock()) == (MONDAY, FRIDAY)


def test_outside_any_app_the_manager_is_not_an_apps(make_app):
    app = make_app()

    assert StateManager.get_instance() is not app.extensions["state_manager"]

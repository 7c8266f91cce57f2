"""The application factory: a table of contents of the app."""
from __future__ import annotations

from flask import Flask

from config import BASE_DIR, Config


def create_app(config_class: type[Config] = Config, **overrides: object) -> Flask:
    """Build an app; starts no threads and runs no migrations (wsgi.py and the CLI do)."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(config_class.INSTANCE_DIR),
    )
    app.config.from_object(config_class())
    app.config.update(overrides)
    register_extensions(app)
    register_input_bounds(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_state_manager(app)
    register_observability(app)
    register_cli(app)
    register_template_globals(app)
    return app


def register_state_manager(app: Flask) -> None:
    """The app's own StateManager, telling time by the app's clock (tests inject CLOCK) and
    sealing sensitive fields with the app's keys (STATEKEEPER_DATA_KEY or instance/data_key)."""
    from pathlib import Path

    from webapp.core.changes.manager import StateManager
    from webapp.core.fields.secrets import Keyring

    keyring = Keyring.from_settings(app.config["DATA_KEY"], Path(app.instance_path))
    app.extensions["state_manager"] = StateManager(clock=app.config["CLOCK"], keyring=keyring)
    StateManager.locate = _current_state_manager  # the same function for every app


def _current_state_manager() -> object:
    from flask import current_app, has_app_context

    return current_app.extensions.get("state_manager") if has_app_context() else None


def state_label(entity_type: str | None, state: str | None) -> str:
    """What people read for a state of a type ("Under contract" for ``under_contract``): its
    label in the workflow in force, else the state's own name."""
    from flask import current_app

    from webapp.extensions import db

    sm = current_app.extensions.get("state_manager")
    wf = sm.workflows.all(db.session).get(entity_type or "") if sm is not None else None
    found = wf.states.get(state or "") if wf is not None else None
    return found.label if found is not None else str(state or "")


def register_template_globals(app: Flask) -> None:
    """``can``, the navigation, ``link`` (url_for of a fixed address), the wording filters (``{{ state|label }}``,
    ``{{ n|plural("property") }}``, ``{{ "entry"|pluralize(n) }}``) and the data filters that
    mask sensitive fields (``{{ entity.data|visible(entity.type) }}``, ``visible_meta``)
    every template shares."""
    from webapp import sensitive
    from webapp.core.base import words
    from webapp.core.base.capabilities import roles_with
    from webapp.permissions import can, nav_items
    from webapp.web_context import link

    app.jinja_env.globals.update(can=can, nav_items=nav_items, roles_with=roles_with,
                                 state_label=state_label, link=link)
    # The one wording helper (core/base/words.py) for every label, count, day and moment.
    app.jinja_env.filters.update(label=words.label, plural=words.plural,
                                 pluralize=words.pluralize, number=words.number, ago=words.ago,
                                 moment=words.moment, visible=sensitive.visible,
                                 visible_meta=sensitive.visible_meta)


def register_extensions(app: Flask) -> None:
    from webapp import security
    from webapp.extensions import csrf, db, limiter, login_manager, migrate
    from webapp.models.engine import configure_engines

    configure_engines()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    security.init_app(app)


def register_input_bounds(app: Flask) -> None:
    """No input past the bounds reaches a view (webapp/inputs.py); before the blueprints,
    whose ``<int:>`` rules take the bounded converter."""
    from webapp import inputs

    inputs.init_app(app)


#: Every area of the app, in navigation order; each package exports ``bp``.
BLUEPRINTS = ("auth", "dashboard", "entities", "workflows", "bulk", "approvals", "sweeps",
              "reports", "events", "settings", "audit", "users", "ops", "api")


def register_blueprints(app: Flask) -> None:
    import importlib

    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f"webapp.blueprints.{name}").bp)


def register_observability(app: Flask) -> None:
    """Request ids and JSON logs, Prometheus hooks, the per-user search limit."""
    from webapp import logging as json_logging
    from webapp import metrics, ratelimits

    json_logging.init_app(app)
    metrics.init_app(app)
    ratelimits.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from webapp.errors import init_app

    init_app(app)


def register_cli(app: Flask) -> None:
    from webapp.cli import init_app

    init_app(app)

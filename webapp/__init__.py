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
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in security.py, skipping Bearer calls
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_observability(app)
    register_cli(app)
    register_template_globals(app)
    register_state_manager(app)
    return app


def register_state_manager(app: Flask) -> None:
    """The process's StateManager tells time by the app's clock (tests inject CLOCK)."""
    from webapp.core.audit import redaction
    from webapp.core.changes.manager import StateManager
    from webapp.models import utcnow

    StateManager.get_instance().clock = app.config.get("CLOCK", utcnow)
    redaction.configure(app.config.get("AUDIT_REDACT_KEYS", ()))


def register_template_globals(app: Flask) -> None:
    from webapp.permissions import can, nav_items

    app.jinja_env.globals.update(can=can, nav_items=nav_items)


def register_extensions(app: Flask) -> None:
    from webapp import security
    from webapp.extensions import csrf, db, htmx, limiter, login_manager, migrate
    from webapp.models.engine import configure_engines

    configure_engines()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    security.init_app(app)


#: Every area of the app, in navigation order; each package exports ``bp``.
BLUEPRINTS = ("auth", "dashboard", "entities", "workflows", "bulk", "sweeps", "events",
              "settings", "audit", "users", "ops", "api")


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

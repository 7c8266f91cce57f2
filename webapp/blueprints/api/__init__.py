"""The JSON API (CONTRACT.md §6) under /api/v1."""
from flask import Blueprint

from webapp.extensions import limiter
from webapp.security import api_rate_key

bp = Blueprint("api", __name__, url_prefix="/api")


def _api_limit() -> str:
    from flask import current_app

    return current_app.config["API_RATE_LIMIT"]


limiter.limit(_api_limit, key_func=api_rate_key)(bp)

from webapp.blueprints.api import entities, meta  # noqa: E402,F401  (routes register on bp)

__all__ = ["bp"]

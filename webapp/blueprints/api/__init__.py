"""The JSON API (CONTRACT.md §6) under /api/v1, rate-limited per token: one budget for all
its routes."""
import importlib

from flask import Blueprint, current_app

from webapp.extensions import limiter
from webapp.security import api_rate_key

bp = Blueprint("api", __name__, url_prefix="/api")

#: Modules whose routes register on ``bp`` (each may also declare OPENAPI_PATHS).
ROUTE_MODULES = ("meta", "entities", "imports", "bulk", "config", "audit", "sweeps", "approvals", "views", "search",
                 "schedules", "reports", "workflow_versions",
                 "openapi")


def _api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


# One budget per token across every route (a shared scope): a per-route limit would let a
# token make the limit's worth of calls to each route, the limit times the routes in all.
limiter.shared_limit(_api_limit, scope="api", key_func=api_rate_key)(bp)

for _name in ROUTE_MODULES:
    importlib.import_module(f"webapp.blueprints.api.{_name}")

__all__ = ["bp"]

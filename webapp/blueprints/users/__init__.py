"""User management for admins: accounts, roles, passwords and API tokens."""
from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from webapp.blueprints.users import views  # noqa: F401  (routes register on bp)

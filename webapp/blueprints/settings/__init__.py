"""The settings editor: grouped runtime settings, inline validation, impact preview, history."""
from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from webapp.blueprints.settings import later, views  # noqa: F401  (routes register on bp)

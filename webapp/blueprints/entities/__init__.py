"""The entities pages: lists with live search and CSV export, and each entity's own page."""
from flask import Blueprint

bp = Blueprint("entities", __name__, url_prefix="/entities")

# The route modules register themselves on ``bp``.
from webapp.blueprints.entities import actions, lists, pages, reverts  # noqa: F401

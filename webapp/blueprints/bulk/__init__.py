"""The bulk pages: choose an action for a selection, preview it, run it, follow it, undo it."""
from flask import Blueprint

bp = Blueprint("bulk", __name__, url_prefix="/bulk")

# The route modules register themselves on ``bp``.
from webapp.blueprints.bulk import views  # noqa: F401

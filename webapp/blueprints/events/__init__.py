"""The events pages: the notification feed and bell; webhooks and their delivery log (admins)."""
from flask import Blueprint

bp = Blueprint("events", __name__, url_prefix="/events")

from webapp.blueprints.events import notifications, webhooks  # noqa: F401  (routes)

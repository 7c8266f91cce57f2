"""The approvals pages: the inbox of pending requests (approve / reject), decided history,
one request; and ``pending_approval(entity_id)`` for the entity page."""
from flask import Blueprint

bp = Blueprint("approvals", __name__, url_prefix="/approvals")

from webapp.blueprints.approvals import views  # noqa: F401  (routes register on bp)

"""The audit pages: the log with filters, one entry's diff, CSV export, chain verification."""
from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from webapp.blueprints.audit import views  # noqa: F401  (routes register on bp)

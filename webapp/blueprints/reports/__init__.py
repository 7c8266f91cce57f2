"""The reports pages (CONTRACT §8): time in state, throughput, stuck entities, with charts
and CSV downloads."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from webapp.blueprints.reports import views  # noqa: F401  (routes register on bp)

"""The reports pages (CONTRACT §8): time in state, throughput, stuck entities, with charts
and CSV downloads."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

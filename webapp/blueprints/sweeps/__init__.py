"""The sweeps pages: run history, run now (dry-run preview first), forecasts, a past run's
page and its undo."""
from flask import Blueprint

bp = Blueprint("sweeps", __name__, url_prefix="/sweeps")

from webapp.blueprints.sweeps import run_pages, views  # noqa: F401  (routes register on bp)

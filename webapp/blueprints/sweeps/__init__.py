"""The sweeps pages."""
from flask import Blueprint

bp = Blueprint("sweeps", __name__, url_prefix="/sweeps")

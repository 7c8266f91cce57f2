"""The bulk pages."""
from flask import Blueprint

bp = Blueprint("bulk", __name__, url_prefix="/bulk")

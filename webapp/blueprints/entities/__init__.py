"""The entities pages."""
from flask import Blueprint

bp = Blueprint("entities", __name__, url_prefix="/entities")

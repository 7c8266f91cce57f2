"""The workflows pages: diagram and tables for everyone, the rule and cascade editor for
config editors and admins."""
from flask import Blueprint

bp = Blueprint("workflows", __name__, url_prefix="/workflows")

from webapp.blueprints.workflows import (  # noqa: F401  (registers routes)
    draft_pages,
    editor,
    version_pages,
    views,
)

"""The entities pages: lists with live search and CSV export, each entity's own page, and the
forms a type's declared fields are created and edited with."""
from flask import Blueprint

bp = Blueprint("entities", __name__, url_prefix="/entities")

# The route modules register themselves on ``bp``.
from webapp.blueprints.entities import (  # noqa: F401
    actions,
    creating,
    header_search,
    lists,
    pages,
    reverts,
    saved,
    schedules,
    sla,
    transfer,
)

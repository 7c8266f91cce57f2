"""API self-description."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from webapp.blueprints.api import bp
from webapp.permissions import requires


@bp.get("/v1/me")
@requires("view")
def me():
    """Who the token or session belongs to (handy for checking a token)."""
    return jsonify({"username": current_user.username, "role": current_user.role})

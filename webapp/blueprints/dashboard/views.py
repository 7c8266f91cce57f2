"""The landing page: what is where, what changed, what is at risk."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Entity, StatusChange
from webapp.permissions import requires

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@requires("view")
def index():
    counts = db.session.execute(
        select(Entity.type, Entity.status, func.count()).group_by(Entity.type, Entity.status)
        .order_by(Entity.type, Entity.status)
    ).all()
    recent = db.session.scalars(select(StatusChange).order_by(StatusChange.id.desc()).limit(15)).all()
    return render_template("dashboard/index.html", counts=counts, recent=recent)

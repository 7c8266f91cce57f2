"""The dashboard's list of refused timers and failed schedules (CONTRACT §8)."""
from __future__ import annotations

from typing import Any

from webapp.blueprints.dashboard.views import bp
from webapp.core.timing import schedules, timers
from webapp.extensions import db
from webapp.models import Entity

#: Rows of each kind the card lists (newest first).
SHOWN = 10


@bp.app_template_global("failed_timers")
def failed_timers() -> dict[str, Any]:
    """Timers refused in their entity's current stay in the state, and failed schedules."""
    stuck = timers.stuck(db.session, SHOWN)
    failed = schedules.failed(db.session, SHOWN)
    names = dict(db.session.execute(db.select(Entity.id, Entity.name).where(
        Entity.id.in_([s.entity_id for s in failed]))).all()) if failed else {}
    return {"timers": stuck, "schedules": [(s, names.get(s.entity_id)) for s in failed]}

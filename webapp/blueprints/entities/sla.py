"""The SLA badge on the entity page and the SLA column of the lists (CONTRACT §8): where each
clock stands, read by core/timing/slas.py at the app's clock."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import render_template

from webapp.blueprints.entities import bp
from webapp.blueprints.entities.common import manager
from webapp.core.timing import slas
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.models import Entity
from webapp.permissions import requires
from webapp.web_context import now

#: A badge's tone -> the badge class app.css colours it with.
TONES = {"running": "ok", "met": "ok", "at_risk": "warn", "breached": "bad",
         "paused": "state-off", "waiting": "state-off"}


@bp.app_template_global("sla_badges")
def sla_badges(entity: Entity, wf: Workflow) -> list[slas.Badge]:
    """The entity's SLAs for its page (none for a type without SLAs: no query)."""
    return slas.badges(db.session, wf, entity, now()) if wf.slas else []


@bp.app_template_global("sla_column")
def sla_column(wf: Workflow, rows: Sequence[Any]) -> dict[int, slas.Badge]:
    """A list page's SLA cells by entity id (``rows``: the table's (row, cells) pairs)."""
    return slas.page_badges(db.session, wf, [r.id for r, _ in rows], now()) if wf.slas else {}


@bp.app_template_global("sla_tone")
def sla_tone(badge: slas.Badge) -> str:
    return TONES[badge.tone]


@bp.get("/<int:entity_id>/sla")
@requires("view")
def sla_panel(entity_id: int):
    """The badge alone: the page refreshes it after a change (actions-changed)."""
    entity = manager().get(db.session, entity_id)
    return render_template("entities/_sla.html", entity=entity,
                           wf=manager().workflow(db.session, entity.type))

"""What entities' SLA clocks say at a moment (CONTRACT §8): the entity JSON's ``"slas"`` and
the entity page's badges. The clocks are kept by the write path (workflows/sla_keeping.py);
this only reads them, one query for a whole page of entities."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.sla_clocks import COLUMNS, PAUSED, RUNNING, STOPPED, WAITING, Clock
from webapp.core.workflows.timing import AT_RISK, Sla
from webapp.models.sla import NEVER, SlaClock

_NOT_STARTED = Clock(WAITING, None, 0.0, None, NEVER, None, None)


def clocks(session: Session, workflows: Mapping[str, Workflow], entities: Sequence[Any]
           ) -> dict[tuple[int, str], Clock]:
    """The stored clocks of these entities (of the types with SLAs), by (entity id, name)."""
    ids = [e.id for e in entities if (wf := workflows.get(e.type)) is not None and wf.slas]
    if not ids:
        return {}
    rows = session.execute(select(SlaClock.entity_id, SlaClock.name,
                                  *(getattr(SlaClock, n) for n in COLUMNS))
                           .where(SlaClock.entity_id.in_(ids)))
    return {(r[0], r[1]): Clock(*r[2:]) for r in rows}


def readings(session: Session, workflows: Mapping[str, Workflow], entities: Sequence[Any],
             now: datetime) -> dict[int, list[dict[str, Any]]]:
    """Each entity's ``"slas"`` at ``now``: one item per SLA its type declares (none for
    types without SLAs), in the workflow's order."""
    found = clocks(session, workflows, entities)
    out: dict[int, list[dict[str, Any]]] = {}
    for e in entities:
        wf = workflows.get(e.type)
        out[e.id] = [_clock_of(found, e, sla).reading(sla.name, now)
                     for sla in (wf.slas if wf is not None else ())]
    return out


def _clock_of(found: Mapping[tuple[int, str], Clock], e: Any, sla: Sla) -> Clock:
    return found.get((e.id, sla.name), _NOT_STARTED)


@dataclass(frozen=True)
class Badge:
    """One SLA as the entity page shows it."""

    label: str
    #: "running", "at_risk", "breached", "paused", "met", "waiting"
    tone: str
    #: The countdown: "3 h 12 min left", "Paused, 1 h left", "Breached 2 h ago".
    text: str
    #: The goal and why it applies: "4 h: priority is CRITICAL".
    goal: str
    due_at: datetime | None


def badges(session: Session, wf: Workflow, entity: Any, now: datetime) -> list[Badge]:
    """The entity's SLAs for its page, in the workflow's order."""
    found = clocks(session, {wf.entity_type: wf}, [entity])
    return [_badge(sla, _clock_of(found, entity, sla), entity.data or {}, now) for sla in wf.slas]


def _badge(sla: Sla, c: Clock, data: Mapping[str, Any], now: datetime) -> Badge:
    goal = sla.goal_for(data)
    why = f"{duration(goal.hours * 3600)}: {goal.reason()}" if goal else "no goal applies"
    if c.state == WAITING or c.goal_hours is None:
        return Badge(sla.label, "waiting", "Not started" if c.state == WAITING else "No goal",
                     why, None)
    left = c.goal_hours * 3600 - c.elapsed(now)
    if c.breached(now):
        assert c.breached_at is not None
        late = duration((now - c.breached_at).total_seconds())
        text = f"Breached {late} ago" + (", stopped" if c.state == STOPPED else
                                         ", paused" if c.state == PAUSED else "")
        return Badge(sla.label, "breached", text, why,
                     c.breached_at if c.state == RUNNING else None)
    if c.state == STOPPED:
        return Badge(sla.label, "met", f"Met with {duration(left)} to spare", why, None)
    if c.state == PAUSED:
        return Badge(sla.label, "paused", f"Paused, {duration(left)} left", why, None)
    tone = "at_risk" if c.elapsed(now) >= c.goal_hours * 3600 * AT_RISK else "running"
    return Badge(sla.label, tone, f"{duration(left)} left", why, c.due_at)


def duration(seconds: float) -> str:
    """``3 h 12 min``, ``45 min``, ``2 d 4 h``, ``under a minute``."""
    minutes = int(max(0.0, seconds) // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min" if mins else "under a minute"


def page_badges(session: Session, wf: Workflow, ids: Sequence[int], now: datetime
                ) -> dict[int, Badge]:
    """The first SLA of each listed entity (a list's SLA column), in one query."""
    if not wf.slas:
        return {}
    sla = wf.slas[0]
    rows = session.execute(select(SlaClock.entity_id, *(getattr(SlaClock, n) for n in COLUMNS))
                           .where(SlaClock.entity_id.in_(ids), SlaClock.name == sla.name))
    found = {r[0]: Clock(*r[1:]) for r in rows}
    return {i: _badge(sla, found.get(i, _NOT_STARTED), {}, now) for i in ids}

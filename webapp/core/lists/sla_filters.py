"""The SLA parts of an entity list (CONTRACT §8): ``sla=breached|at_risk`` filters on the
clocks the write path keeps, and ``sort=sla_due`` orders a type's entities by when their
(first) SLA is due, soonest first, clocks that are not running last; both are served by the
clock table's indexes (models/sla.py)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, literal, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from webapp.core.base import paging
from webapp.core.base.errors import InvalidInput
from webapp.core.workflows.sla_clocks import FILTERS, condition
from webapp.core.workflows.sla_keeping import definitions
from webapp.models import Entity
from webapp.models.sla import SlaClock

#: The sort key: by due time.
SORT = "sla_due"


#: Matching clocks above which a list checks each entity it walks (EXISTS) rather than
#: collecting every match first (IN): 900,000 breached clocks of 1,000,000 took seconds to
#: collect, where walking finds a page's 50 in as many probes; a few are found faster by IN.
WALK_FROM = 10_000


@dataclass(frozen=True)
class SlaFilter:
    """Entities with a clock ``kind`` (breached, at_risk) at ``now``."""

    kind: str
    now: datetime

    def condition(self, session: Session) -> ColumnElement[bool]:
        """The filter as SQL, written for how many clocks match (one probe of at most
        WALK_FROM + 1 entries of the marks' index)."""
        matching = condition(self.kind, self.now)
        many = session.scalar(select(SlaClock.id).where(matching).limit(1).offset(WALK_FROM))
        # Correlated on the entity only: a list sorted by due time joins the clocks too.
        if many is not None:
            return (select(SlaClock.id).where(SlaClock.entity_id == Entity.id, matching)
                    .correlate(Entity).exists())
        return Entity.id.in_(select(SlaClock.entity_id).where(matching).correlate(None))


def parse(raw: Any, now: datetime) -> SlaFilter | None:
    """``sla`` from a query: empty for none; anything but breached or at_risk is a 400."""
    if raw in (None, ""):
        return None
    if raw not in FILTERS:
        raise InvalidInput("Unknown SLA filter.", {"sla": "Use breached or at_risk."})
    return SlaFilter(str(raw), now)


def _clock_name(session: Session, type_: str | None) -> str:
    found = definitions(session).get(type_ or "")
    if found is None:
        raise InvalidInput("Sort by SLA due time within a type that has SLAs.",
                           {"sort": "Choose a type with an SLA to sort by due time."})
    return found.slas[0].name


def due_ids(session: Session, matching: Select[tuple[Entity]], type_: str | None,
            descending: bool, position: paging.Position | None, limit: int
            ) -> Select[tuple[int]]:
    """The first ``limit`` ids of ``matching`` after ``position`` in due-time order."""
    stmt = matching.join(SlaClock, and_(SlaClock.entity_id == Entity.id,
                                        SlaClock.name == _clock_name(session, type_)))
    if position is not None:
        try:
            value = literal(datetime.fromisoformat(position.value), SlaClock.due_at.type)
        except (TypeError, ValueError) as exc:
            raise InvalidInput("That cursor is not valid.",
                               {"cursor": "Use next_cursor as given."}) from exc
        row, mark = tuple_(SlaClock.due_at, SlaClock.entity_id), tuple_(value, position.id)
        stmt = stmt.where(and_(SlaClock.due_at <= value, row < mark) if descending
                          else and_(SlaClock.due_at >= value, row > mark))
    order = (SlaClock.due_at, SlaClock.entity_id)
    return stmt.with_only_columns(Entity.id).order_by(
        *(c.desc() if descending else c.asc() for c in order)).limit(limit)


def cursors(session: Session, type_: str | None, rows: Sequence[Any]
            ) -> Callable[[Any, str], str] | None:
    """Cursors for a page sorted by due time: its end rows' due times, read back."""
    if not rows:
        return None
    ends = {rows[0].id, rows[-1].id}
    due = dict(session.execute(select(SlaClock.entity_id, SlaClock.due_at).where(
        SlaClock.entity_id.in_(ends), SlaClock.name == _clock_name(session, type_))).all())

    def cursor_of(row: Any, direction: str) -> str:
        return paging.encode_value(row.id, direction, SORT, due[row.id].isoformat())
    return cursor_of

"""SLA alerts (CONTRACT §8): ``SlaAtRisk`` once a clock has used 80 % of its goal and
``SlaBreached`` once it has used all of it, each once per clock, as outbox events (webhooks,
the bell through their ``notification`` sentence, subscribers).

Exactly once with any number of processes and across restarts: a chunk of due clocks is
claimed by ``UPDATE ... SET <sent> = now WHERE <sent> IS NULL`` in the same transaction as
its outbox rows, so a claim and its events commit together or not at all, and a second claim
of the same clock matches no row (PostgreSQL: the candidates are read ``FOR UPDATE SKIP
LOCKED``, so concurrent raisers take different chunks; SQLite: one writer at a time).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import moment
from webapp.core.changes.writer import insert_outbox
from webapp.core.timing.slas import duration
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.sla_clocks import RUNNING, SLA_AT_RISK, SLA_BREACHED, condition
from webapp.models import Entity
from webapp.models.sla import SlaClock

if TYPE_CHECKING:
    from webapp.core.changes.manager import StateManager

CHUNK = 500

#: kind -> (event, the mark reached, the flag claimed).
_KINDS = {"breached": (SLA_BREACHED, SlaClock.breached_at, SlaClock.breached_sent_at),
          "at_risk": (SLA_AT_RISK, SlaClock.risk_at, SlaClock.at_risk_sent_at)}


def raise_due(session: Session, manager: StateManager, now: datetime, chunk: int = CHUNK
              ) -> dict[str, int]:
    """Raise every alert due at ``now``, in chunks of ``chunk`` (each its own transaction);
    returns how many of each were raised by this call: ``{"at_risk": n, "breached": m}``.

    Breaches first: a clock past both marks when first seen raises only its breach."""
    workflows = manager.workflows.all(session)
    raised = {"breached": 0, "at_risk": 0}
    for kind in ("breached", "at_risk"):
        while True:
            with write_transaction(session):
                candidates, claimed = _claim(session, kind, now, chunk)
                _announce(session, workflows, kind, claimed, now)
            raised[kind] += len(claimed)
            if candidates < chunk:
                break
    session.rollback()
    return {"at_risk": raised["at_risk"], "breached": raised["breached"]}


def _claim(session: Session, kind: str, now: datetime, chunk: int) -> tuple[int, list[Any]]:
    """Mark up to ``chunk`` due clocks as raised; returns how many were due and those this
    transaction claimed (with what their events say)."""
    _, mark, sent = _KINDS[kind]
    due = (select(SlaClock.id).where(sent.is_(None), mark <= now, condition(kind, now))
           .order_by(mark).limit(chunk).with_for_update(skip_locked=True))
    ids = list(session.scalars(due))
    if not ids:
        return 0, []
    values: dict[Any, Any] = {sent: now}
    if kind == "breached":  # a breach raised says all an at-risk alert would have
        values[SlaClock.at_risk_sent_at] = func.coalesce(SlaClock.at_risk_sent_at, now)
    claim = (update(SlaClock).where(SlaClock.id.in_(ids), sent.is_(None)).values(values)
             .returning(SlaClock.entity_id, SlaClock.name, SlaClock.goal_hours, SlaClock.state,
                        SlaClock.due_at, mark.label("reached_at")).execution_options(synchronize_session=False))
    return len(ids), list(session.execute(claim))


def _announce(session: Session, workflows: Mapping[str, Workflow], kind: str,
              claimed: Sequence[Any], now: datetime) -> None:
    if not claimed:
        return
    entities = {e.id: e for e in session.execute(
        select(Entity.id, Entity.type, Entity.name, Entity.status)
        .where(Entity.id.in_([c.entity_id for c in claimed])))}
    event = _KINDS[kind][0]
    insert_outbox(session, event, [(c.entity_id, _payload(event, c, entities[c.entity_id],
                                                          workflows)) for c in claimed], now)


def _payload(event: str, c: Any, e: Any, workflows: Mapping[str, Workflow]) -> dict[str, Any]:
    wf = workflows.get(e.type)
    sla = next((s for s in wf.slas if s.name == c.name), None) if wf else None
    what = f"{wf.label if wf else e.type} {e.name!r}"
    sla_label = (sla.label if sla else c.name).lower()
    goal = duration((c.goal_hours or 0) * 3600)
    reached = c.reached_at
    if event == SLA_BREACHED:
        sentence = f"{what} breached its {sla_label} SLA ({goal} goal) at {moment(reached)}."
    else:
        sentence = f"{what} has used 80 % of its {sla_label} SLA ({goal} goal); " + (
            f"it is due at {moment(c.due_at)}." if c.state == RUNNING else "its clock is paused.")
    return {"event": event, "entity_id": e.id, "type": e.type, "name": e.name,
            "status": e.status, "sla": c.name, "goal_hours": c.goal_hours,
            "reached_at": reached.isoformat() if reached else None,
            "notification": sentence[:500]}

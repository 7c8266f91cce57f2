"""Previews: what a command would do, computed by the same code that does it, writing nothing.

The entity page shows a revert's outcome (status, data, name) and whether the workflow allows
it before anyone confirms; the confirmation then runs ``StateManager.revert`` for real.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.changes import entities, history
from webapp.core.changes.manager import StateManager
from webapp.models import Entity

#: Stands in for the reason during a preview, so "comment required" rules do not fire early.
PREVIEW_REASON = "(preview)"


@dataclass
class RevertPreview:
    entity: Entity
    status_after: str
    data_after: dict[str, Any]
    name_after: str
    #: Why the workflow refuses the way back (empty when it allows it).
    reasons: list[str] = field(default_factory=list)
    change_id: int | None = None
    at: datetime | None = None

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def data_changes(self) -> list[tuple[str, Any, Any, bool, bool]]:
        """(key, before, after, had it before, has it after) for every key that changes."""
        before, after = self.entity.data or {}, self.data_after
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
                      or (k in before) != (k in after))
        return [(k, before.get(k), after.get(k), k in before, k in after) for k in keys]


def preview_revert(sm: StateManager, session: Session, actor: Actor, entity_id: int, *,
                   change_id: int | None = None, at: datetime | None = None) -> RevertPreview:
    """The revert ``sm.revert`` would write, and the workflow's objections; raises as it does
    when there is nothing to revert (InvalidInput, InvalidTransition, NotFound)."""
    entity = entities.get(session, entity_id)
    wf = sm.workflow(session, entity.type)
    change = history.plan_revert(session, wf, entity, change_id, at, PREVIEW_REASON, False, actor,
                                 keyring=sm.keyring)
    reasons: list[str] = []
    if change.new_status != entity.status:
        plan = sm.plan(session, wf, [entity], change.new_status, actor, PREVIEW_REASON, "revert",
                       sm.clock())
        reasons = [m for _, messages in plan.failures.values() for m in messages]
    return RevertPreview(
        entity, change.new_status,
        change.new_data if change.new_data is not None else dict(entity.data or {}),
        change.new_name or entity.name, reasons, change_id, at)

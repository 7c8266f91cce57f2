"""Cascades and derived statuses: the follow-ups of a change, run in the same transaction.

Follow-ups are computed in waves from the database *after* the previous wave was written, so
counts (how many properties are still available) already include this command's changes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.base.relations import chunked, descendants
from webapp.core.changes.writer import Change, lock_entities
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.rules import plural
from webapp.models import Entity

MAX_WAVES = 6


def follow_ups(session: Session, workflows: dict[str, Workflow], wave: Sequence[Change],
               settings: dict[str, Any]) -> list[Change]:
    """The changes that ``wave`` (already written) sets off: cascades, then derived statuses."""
    planned: dict[int, Change] = {}
    for change in _cascades(session, workflows, wave):
        planned.setdefault(change.entity.id, change)
    for change in _derived(session, workflows, wave, settings):
        planned.setdefault(change.entity.id, change)
    return list(planned.values())


def _moved(wave: Sequence[Change]) -> list[Change]:
    return [c for c in wave if c.meta.get("old_status") != c.new_status]


def _cascades(session: Session, workflows: dict[str, Workflow], wave: Sequence[Change]) -> list[Change]:
    targets: dict[int, tuple[str, str]] = {}  # entity id -> (new status, reason)
    for c in _moved(wave):
        wf = workflows.get(c.entity.type)
        for rule in (wf.cascades if wf else ()):
            if rule.on_enter != c.new_status:
                continue
            found = descendants(session, [c.entity.id], rule.path, rule.from_states)
            reason = f"{c.entity.type.replace('_', ' ')} {c.entity.name!r} went {c.new_status}"
            for child_id, _status in found[c.entity.id]:
                targets.setdefault(child_id, (rule.to, reason))
    return _plan(session, workflows, targets, trigger=wave)


def _derived(session: Session, workflows: dict[str, Workflow], wave: Sequence[Change],
             settings: dict[str, Any]) -> list[Change]:
    targets: dict[int, tuple[str, str]] = {}
    for wf in workflows.values():
        for d in wf.derived:
            triggered = {c.entity.parent_id for c in _moved(wave)
                         if c.entity.type == d.child_type and c.new_status in d.trigger_states
                         and c.entity.parent_id is not None}
            targets.update(_derive(session, wf, d, triggered, settings))
    return _plan(session, workflows, targets, trigger=wave)


def _derive(session: Session, wf: Workflow, d: Any, parent_ids: set[int],
            settings: dict[str, Any]) -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for chunk in chunked(sorted(parent_ids)):
        parents = session.execute(select(Entity.id, Entity.status).where(
            Entity.id.in_(chunk), Entity.type == wf.entity_type, Entity.status.in_(d.applies_in))).all()
        counts = dict(session.execute(
            select(Entity.parent_id, func.count()).where(
                Entity.parent_id.in_([p for p, _ in parents]), Entity.type == d.child_type,
                Entity.status.in_(d.count_states)).group_by(Entity.parent_id)).all())
        for pid, status in parents:
            target = _threshold(d.thresholds, counts.get(pid, 0), settings)
            if target and target != status:
                left = counts.get(pid, 0)
                out[pid] = (target, f"{plural(left, d.child_type)} left {' or '.join(d.count_states)}")
    return out


def _threshold(thresholds: Sequence[tuple[int | str, str]], count: int,
               settings: dict[str, Any]) -> str | None:
    for limit, status in thresholds:
        bound = settings.get(limit, 0) if isinstance(limit, str) else limit
        if count <= bound:
            return status
    return None


def _plan(session: Session, workflows: dict[str, Workflow], targets: dict[int, tuple[str, str]],
          trigger: Sequence[Change]) -> list[Change]:
    if not targets:
        return []
    entities = lock_entities(session, list(targets))
    correlated = {c.entity.id for c in trigger}
    changes = []
    for eid, (status, reason) in targets.items():
        e = entities.get(eid)
        if e is None or e.status == status or eid in correlated:
            continue
        wf = workflows.get(e.type)
        move = wf.find(e.status, status) if wf else None
        changes.append(Change(e, status, move.name if move else "cascade", "cascade", reason,
                              meta={"caused_by": sorted(correlated)[:20]}))
    return changes

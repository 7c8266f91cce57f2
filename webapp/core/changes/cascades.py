"""Cascades and derived statuses: the follow-ups of a change, run in the same transaction.

Follow-ups are computed in waves from the database *after* the previous wave was written, so
counts (how many properties are still available) already include this command's changes.
``Waves`` watches them: follow-ups that loop, or that are still going after ``MAX_WAVES``,
refuse the whole command (``CascadeLoop``) rather than stop quietly with relatives half-moved.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.base.errors import CascadeLoop
from webapp.core.base.relations import chunked, descendants
from webapp.core.base.words import label, plural
from webapp.core.changes.writer import Change, lock_entities
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity

#: Waves one command may write, the change itself included. A legitimate cascade needs one
#: wave per level of the hierarchy it walks down or up; far more than any pack has, and
#: reaching it is an error (CascadeLoop), never a quiet stop.
MAX_WAVES = 32


class _Target(NamedTuple):
    status: str
    reason: str
    #: The entities of the previous wave that set this follow-up off.
    causes: list[int]


def follow_ups(session: Session, workflows: dict[str, Workflow], wave: Sequence[Change],
               settings: dict[str, Any]) -> list[Change]:
    """The changes that ``wave`` (already written) sets off: cascades, then derived statuses.

    Each one's ``metadata["caused_by"]`` names the entities of ``wave`` that set it off."""
    planned: dict[int, Change] = {}
    for change in _cascades(session, workflows, wave):
        planned.setdefault(change.entity.id, change)
    for change in _derived(session, workflows, wave, settings):
        planned.setdefault(change.entity.id, change)
    return list(planned.values())


def may_follow(workflows: dict[str, Workflow], entity_type: str, old: str, new: str) -> bool:
    """Whether moving an entity of ``entity_type`` from ``old`` to ``new`` can set off a
    cascade or a derived status (what ``follow_ups`` would look for)."""
    wf = workflows.get(entity_type)
    return old != new and (any(rule.on_enter == new for rule in (wf.cascades if wf else ())) or any(
        d.child_type == entity_type and new in d.trigger_states
        for w in workflows.values() for d in w.derived))


class Waves:
    """The waves of one command, admitted one by one before each is written.

    A follow-up that would put an entity back into a status it already entered during this
    command is a loop: the workflows' cascades and derived statuses chase each other and would
    never settle. Leaving it to a wave limit would write an arbitrary part of the loop."""

    def __init__(self, budget: int = MAX_WAVES) -> None:
        self.budget = budget
        self._waves: list[dict[int, Change]] = []
        self._entered: set[tuple[int, str]] = set()

    def admit(self, wave: Sequence[Change]) -> None:
        """Record ``wave`` (about to be written); raise CascadeLoop if it loops or is one too many."""
        for c in wave:
            if (c.entity.id, c.new_status) in self._entered:
                raise CascadeLoop(f"The cascades loop: {_steps(self._chain(c))}; "
                                  "the change was not made.")
        if len(self._waves) == self.budget:
            chain = self._chain(wave[0])
            raise CascadeLoop(
                f"The cascades of this change were still going after {self.budget} waves "
                f"({_steps(chain[:1])} → … → {_steps(chain[-1:])}); the change was not made.")
        self._waves.append({c.entity.id: c for c in wave})
        self._entered.update((c.entity.id, c.new_status) for c in wave)

    def _chain(self, last: Change) -> list[Change]:
        """``last`` and the changes that led to it, back to where its entity entered the same
        status before (the loop) or to the command's own change."""
        chain = [last]
        for wave in reversed(self._waves):
            cause = next((wave[i] for i in chain[-1].metadata.get("caused_by", ()) if i in wave),
                         None)
            if cause is None:
                break
            chain.append(cause)
            if (cause.entity.id, cause.new_status) == (last.entity.id, last.new_status):
                break
        return chain[::-1]


def _steps(chain: Sequence[Change]) -> str:
    return " → ".join(f"{label(c.entity.type)} {c.entity.name!r} {c.new_status}" for c in chain)


def _moved(wave: Sequence[Change]) -> list[Change]:
    return [c for c in wave if c.old_status != c.new_status]


def _cascades(session: Session, workflows: dict[str, Workflow], wave: Sequence[Change]) -> list[Change]:
    targets: dict[int, _Target] = {}
    for c in _moved(wave):
        wf = workflows.get(c.entity.type)
        for rule in (wf.cascades if wf else ()):
            if rule.on_enter != c.new_status:
                continue
            found = descendants(session, [c.entity.id], rule.path, rule.from_states)
            reason = f"{label(c.entity.type)} {c.entity.name!r} went {c.new_status}"
            for child_id, _status in found[c.entity.id]:
                targets.setdefault(child_id, _Target(rule.to, reason, [c.entity.id]))
    return _plan(session, workflows, targets, trigger=wave)


def _derived(session: Session, workflows: dict[str, Workflow], wave: Sequence[Change],
             settings: dict[str, Any]) -> list[Change]:
    targets: dict[int, _Target] = {}
    for wf in workflows.values():
        for d in wf.derived:
            triggered: dict[int, list[int]] = {}  # parent id -> the children that moved
            for c in _moved(wave):
                if (c.entity.type == d.child_type and c.new_status in d.trigger_states
                        and c.entity.parent_id is not None):
                    triggered.setdefault(c.entity.parent_id, []).append(c.entity.id)
            for pid, (status, reason) in _derive(session, wf, d, set(triggered), settings).items():
                targets[pid] = _Target(status, reason, triggered[pid])
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


def _plan(session: Session, workflows: dict[str, Workflow], targets: dict[int, _Target],
          trigger: Sequence[Change]) -> list[Change]:
    if not targets:
        return []
    entities = lock_entities(session, list(targets))
    correlated = {c.entity.id for c in trigger}
    changes = []
    for eid, (status, reason, causes) in targets.items():
        e = entities.get(eid)
        if e is None or e.status == status or eid in correlated:
            continue
        wf = workflows.get(e.type)
        move = wf.find(e.status, status) if wf else None
        changes.append(Change(e, status, move.name if move else "cascade", "cascade", reason,
                              metadata={"caused_by": sorted(causes)[:20]}))
    return changes

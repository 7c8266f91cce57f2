"""Validating one chunk of a bulk operation: what would happen to each entity, and why not.

Transitions go through the workflow and the rules in batches (``StateManager.plan``); assign
and update are data changes checked against the workflow's field rules; undo restores what a
bulk operation changed where nothing changed since.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.base import relations
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput
from webapp.core.base.relations import chunked
from webapp.core.base.words import label
from webapp.core.changes import entities
from webapp.core.changes import writer as changes
from webapp.core.changes.history import undo_data
from webapp.core.changes.writer import Change, EntityRow
from webapp.core.fields.validation import Lookups
from webapp.core.lists import listing, search
from webapp.models import Entity, StatusChange

#: Rows of "what would happen" a preview or result keeps (totals cover the rest).
ROWS_KEPT = 200

if TYPE_CHECKING:
    from webapp.core.bulk.request import BulkRequest
    from webapp.core.changes.manager import StateManager


@dataclass
class Chunk:
    """One chunk's outcome: the changes to write, the failures, and rows for a preview."""

    changes: list[Change] = field(default_factory=list)
    #: entity id -> why it fails, in the order the ids were given
    failures: dict[int, str] = field(default_factory=dict)
    #: Valid items with nothing to write (e.g. already assigned to that person).
    unchanged: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    cascaded: int = 0
    #: (entity id, old status, new status) of each change once written.
    written: list[tuple[int, str | None, str]] = field(default_factory=list)


def load_entities(session: Session, ids: Sequence[int], lock: bool) -> dict[int, EntityRow]:
    """Entities by id, fresh from the database as plain rows; locked for writing when ``lock``."""
    return changes.lock_rows(session, ids, lock)


def count_of_type(session: Session, ids: Sequence[int], entity_type: str) -> int:
    stmt = select(func.count()).select_from(Entity).where(
        relations.IDS_ARE[relations.dialect(session)], Entity.type == entity_type)
    return sum(session.scalar(stmt, {"ids": list(part)}) or 0 for part in chunked(list(ids)))


def plan(session: Session, sm: StateManager, actor: Actor, req: BulkRequest, ids: Sequence[int],
         found: dict[int, Entity], now: datetime, cid: str = "") -> Chunk:
    """Every id of the chunk either becomes a change (or a valid no-op) or a failure."""
    failures: dict[int, list[str]] = {i: [f"No entity with id {i}."] for i in ids if i not in found}
    stale = _changed_since(session, [i for i in ids if i in found], req.since_change_id, cid)
    failures.update((i, [(f"{_label(found[i])} was changed after the preview; it was left as "
                         f"it is now ({found[i].status}).")]) for i in stale)
    todo = [found[i] for i in ids if i in found and i not in stale]
    planner = {"transition": _transition, "assign": _data, "update": _data, "undo": _undo}
    planned, unchanged = planner[req.operation](session, sm, actor, req, todo, now, failures)
    return _ordered(ids, found, planned, unchanged, failures)


def _changed_since(session: Session, ids: list[int], since: int | None, cid: str) -> set[int]:
    if since is None or not ids:
        return set()
    return set(session.scalars(select(StatusChange.entity_id).where(
        StatusChange.entity_id.in_(ids), StatusChange.id > since,
        StatusChange.correlation_id != cid).distinct()))


def _ordered(ids: Sequence[int], found: dict[int, Entity], planned: list[Change],
             unchanged: list[int], failures: dict[int, list[str]]) -> Chunk:
    by_id = {c.entity.id: c for c in planned}
    same = set(unchanged)
    chunk = Chunk(unchanged=[i for i in ids if i in same])
    for i in ids:
        if i in failures:
            chunk.failures[i] = " ".join(failures[i])
        elif i in by_id:
            chunk.changes.append(by_id[i])
        if len(chunk.rows) < ROWS_KEPT:  # a preview shows this many; totals cover the rest
            chunk.rows.append(_row(i, found.get(i), by_id.get(i), chunk.failures.get(i)))
    return chunk


def _row(eid: int, e: Entity | None, change: Change | None, failure: str | None) -> dict[str, Any]:
    return {"id": eid, "type": e.type if e else None, "name": e.name if e else None,
            "old_status": e.status if e else None,
            "new_status": change.new_status if change else (e.status if e else None),
            "ok": failure is None, "message": failure or _what(change)}


def _what(change: Change | None) -> str:
    if change is None:
        return "Nothing to change."
    if change.new_data is not None and change.new_status == change.entity.status:
        diff = change.metadata.get("data", {})
        keys = sorted({*diff.get("before", {}), *diff.get("after", {})})
        return f"Data: {', '.join(keys)}."
    return f"{label(change.action).capitalize()}."


def _label(e: Entity) -> str:
    return f"{label(e.type).capitalize()} {e.name!r}"


def _by_type(group: Sequence[Entity]) -> dict[str, list[Entity]]:
    out: dict[str, list[Entity]] = defaultdict(list)
    for e in group:
        out[e.type].append(e)
    return out


# -------------------------------------------------------------------------- transition


def _transition(session: Session, sm: StateManager, actor: Actor, req: BulkRequest,
                todo: list[Entity], now: datetime, failures: dict[int, list[str]]
                ) -> tuple[list[Change], list[int]]:
    planned: list[Change] = []
    wanted = (req.target_state or "").strip()
    for type_, group in _by_type(todo).items():
        wf = sm.workflow(session, type_)
        state = wf.state(wanted)
        if state is None:
            message = f"{wf.label} has no state {wanted!r}; its states are {', '.join(wf.states)}."
            failures.update((e.id, [message]) for e in group)
            continue
        result = sm.plan(session, wf, group, state.name, actor, req.comment, "bulk", now)
        planned += result.changes
        failures.update((eid, messages) for eid, (_kind, messages) in result.failures.items())
    return planned, []


# ------------------------------------------------------------------------ assign, update


def _data(session: Session, sm: StateManager, actor: Actor, req: BulkRequest,
          todo: list[Entity], now: datetime, failures: dict[int, list[str]]
          ) -> tuple[list[Change], list[int]]:
    patch = {"assignee": req.assignee} if req.operation == "assign" else req.update_data or {}
    checker = _DataChecker(session, sm)
    planned, unchanged = [], []
    checked = checker.check_many([(e, entities.merge_patch(e.data or {}, patch)) for e in todo])
    for e, (after, problem) in zip(todo, checked, strict=True):
        before = e.data or {}
        if problem:
            failures[e.id] = [problem]
        elif after == before:
            unchanged.append(e.id)
        else:
            planned.append(Change(e, e.status, req.operation, "bulk", req.comment, new_data=after,
                                  metadata={"data": entities.data_diff(before, after)}))
    return planned, unchanged


class _DataChecker:
    """Checks new data of many entities against their types' fields, with one ``Lookups``
    per type for the chunk (a person or a referenced entity is looked up once, and two
    entities given one unique value clash)."""

    def __init__(self, session: Session, sm: StateManager) -> None:
        self.session, self.workflows, self.keyring = session, sm.workflows.all(session), sm.keyring
        self.lookups: dict[str, Lookups] = {}

    def check(self, e: Entity, data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The data as stored, or why not: every bad field's sentence."""
        return self.check_many([(e, data)])[0]

    def check_many(self, items: Sequence[tuple[Entity, dict[str, Any]]]
                   ) -> list[tuple[dict[str, Any], str | None]]:
        """``check`` for each (entity, new data), the entities of a type checked as one batch
        (``entities.check_data_many``: one database question per kind of lookup)."""
        out: list[tuple[dict[str, Any], str | None]] = [
            (data, "Its type has no workflow any more.") for _e, data in items]
        for entity_type, positions in _positions_by_type(items).items():
            wf = self.workflows.get(entity_type)
            if wf is None:
                continue
            lookups = self.lookups.setdefault(entity_type, Lookups(self.session, entity_type))
            checked = entities.check_data_many(
                wf, [(items[i][1], items[i][0].data or {}, items[i][0].id) for i in positions],
                lookups=lookups, creating=False, keyring=self.keyring)
            for i, (stored, error) in zip(positions, checked, strict=True):
                out[i] = (items[i][1], _sentences(error)) if error else (stored, None)
        return out


def _positions_by_type(items: Sequence[tuple[Entity, Any]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, (e, _data) in enumerate(items):
        out[e.type].append(i)
    return out


def _sentences(err: InvalidInput) -> str:
    """A failure's message: the declared fields' own sentences, else the message and details."""
    if err.fields and all(key.startswith("data.") for key in err.fields):
        return " ".join(err.fields.values())
    details = "; ".join(f"{k} {v}" for k, v in err.fields.items())
    return f"{err.message} {details}".strip() if details else err.message


# ------------------------------------------------------------------------------ undo


def _undo(session: Session, sm: StateManager, actor: Actor, req: BulkRequest,
          todo: list[Entity], now: datetime, failures: dict[int, list[str]]
          ) -> tuple[list[Change], list[int]]:
    ids = [e.id for e in todo]
    ours = {r.entity_id: r for r in session.scalars(select(StatusChange).where(
        StatusChange.correlation_id == req.undo_of, StatusChange.source.in_(UNDOABLE_SOURCES),
        StatusChange.entity_id.in_(ids)))}
    last = dict(session.execute(select(StatusChange.entity_id, func.max(StatusChange.id)).where(
        StatusChange.entity_id.in_(ids)).group_by(StatusChange.entity_id)).all())
    reason = req.comment or f"Undo of bulk operation {req.undo_of}."
    checker = _DataChecker(session, sm)
    planned: list[Change] = []
    for e in todo:
        row = ours.get(e.id)
        if row is None:
            failures[e.id] = [f"{_label(e)} was not changed by that operation."]
        elif last.get(e.id) != row.id:
            failures[e.id] = [f"{_label(e)} was changed since (now {e.status}); it was left as it is."]
        else:
            change = _undo_change(e, row, reason)
            problem = _restorable(checker, change)
            if problem:
                failures[e.id] = [problem]
            else:
                planned.append(change)
    return _check_way_back(session, sm, actor, req, planned, now, failures), []


def _undo_change(e: Entity, row: StatusChange, reason: str) -> Change:
    data = undo_data(e.data or {}, (row.meta or {}).get("data"))
    current = e.data or {}
    meta: dict[str, Any] = {"reverted_change": row.id}
    if data != current:
        meta["data"] = entities.data_diff(current, data)
    return Change(e, row.old_status or e.status, "revert", "revert", reason,
                  new_data=data if data != current else None, metadata=meta)


def _restorable(checker: _DataChecker, change: Change) -> str | None:
    """Why the data an undo restores cannot be stored under the type's fields as they are now
    (None when it can; the change then carries the data as stored)."""
    if change.new_data is None:
        return None
    e = change.entity
    stored, problem = checker.check(e, change.new_data)  # type: ignore[arg-type]
    if problem:
        return f"{_label(e)} cannot be restored: {problem}"
    change.new_data = stored
    change.metadata["data"] = entities.data_diff(e.data or {}, stored)
    return None


def _check_way_back(session: Session, sm: StateManager, actor: Actor, req: BulkRequest,
                    planned: list[Change], now: datetime, failures: dict[int, list[str]]
                    ) -> list[Change]:
    """A status going back must be a move the workflow allows (unless an admin forces it)."""
    moving = [c for c in planned if c.new_status != c.entity.status]
    if req.force or not moving:
        return planned
    groups: dict[tuple[str, str], list[Entity]] = defaultdict(list)
    for c in moving:
        groups[(c.entity.type, c.new_status)].append(c.entity)
    refused: set[int] = set()
    for (type_, target), group in groups.items():
        result = sm.plan(session, sm.workflow(session, type_), group, target, actor, req.comment
                         or "undo", "revert", now)
        by_id = {e.id: e for e in group}
        for eid, (_kind, messages) in result.failures.items():
            failures[eid] = [f"{_label(by_id[eid])} cannot go back to {target}: {NO_WAY_BACK}.",
                             *messages, "An admin may force the undo."]
            refused.add(eid)
    return [c for c in planned if c.entity.id not in refused]


#: How an undo's refusal by the workflow reads (``no_way_back`` counts them).
NO_WAY_BACK = "the workflow has no way back"


def no_way_back(failures: dict[int, str]) -> int:
    """How many of an undo's failures the workflow caused (an admin may force those)."""
    return sum(NO_WAY_BACK in message for message in failures.values())


#: The changes an undo puts back: a bulk operation's own, a sweep run's (inactivations,
#: source sweep; reactivations, source activity) and a workflow publish's moves of stranded
#: entities (source migration). Cascades are counted, not undone.
UNDOABLE_SOURCES = ("bulk", "sweep", "activity", "migration")


def undo_targets(session: Session, cid: str) -> list[int]:
    """The entities an operation (bulk or sweep) changed itself (cascades aside), in the order
    it did."""
    return list(session.scalars(select(StatusChange.entity_id).where(
        StatusChange.correlation_id == cid, StatusChange.source.in_(UNDOABLE_SOURCES))
        .order_by(StatusChange.id)))


def cascaded_count(session: Session, cid: str) -> int:
    return session.scalar(select(func.count()).select_from(StatusChange).where(
        StatusChange.correlation_id == cid, StatusChange.source == "cascade")) or 0


# ------------------------------------------------------------------------ selections


#: Most entities one browser selection may name (a background job then takes ~10 s per 100,000).
SELECTION_MAX = 250_000


def matching_ids(session: Session, vocabulary: search.Vocabulary, filters: listing.Filters,
                 limit: int = SELECTION_MAX) -> list[int]:
    """The ids of every entity matching a list filter ("all matching"), ascending."""
    stmt = (listing.query(session, vocabulary, filters).with_only_columns(Entity.id)
            .order_by(Entity.id).limit(limit + 1))
    ids = list(session.scalars(stmt))
    if len(ids) > limit:
        raise InvalidInput(f"More than {limit:,} entities match; narrow the filter.",
                           {"selection": f"At most {limit:,} entities per operation."})
    return ids


def types_of(session: Session, ids: Sequence[int]) -> list[str]:
    """The entity types among ``ids`` (the workflows whose states a form may offer)."""
    found: set[str] = set()
    for part in chunked(list(ids)):
        found.update(session.scalars(select(Entity.type).where(Entity.id.in_(part)).distinct()))
    return sorted(found)


def reasons(failures: dict[int, str], top: int = 5) -> list[tuple[str, int]]:
    """The most common failure reasons, names blanked so that alike failures group together."""
    counts: dict[str, int] = defaultdict(int)
    for message in failures.values():
        counts[re.sub(r"'[^']*'", "…", message)] += 1
    return sorted(counts.items(), key=lambda item: -item[1])[:top]


# --------------------------------------------------------------------- audit detail


def entity_detail(written: Sequence[tuple[int, str | None, str]]) -> list[dict[str, Any]]:
    """Per-entity detail for the audit record, grouped by move: [{old_status, new_status,
    count, ids}]. The ids are one comma-separated string: the audit log's PII redaction checks
    every number in a list one by one (a phone number may be sent as a number), which for
    10,000 ids cost more than writing them."""
    groups: dict[tuple[str | None, str], list[int]] = defaultdict(list)
    for eid, old, new in written:
        groups[(old, new)].append(eid)
    return [{"old_status": old, "new_status": new, "count": len(ids), "ids": id_list(ids)}
            for (old, new), ids in groups.items()]


def id_list(ids: Sequence[int]) -> str:
    return ",".join(map(str, ids))

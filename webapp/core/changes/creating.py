"""Entities created set-based: many new entities of one type checked together and written with
a few statements per batch (a CSV import's rows), with what ``entities.create`` writes for one.

``check`` holds every row to the checks a single create makes, in the same order and with the
same sentences (status, last activity, name, data against the declared fields, parent), but
asks the database once per batch: data through ``check_data_many`` with the caller's
``Lookups`` (so two rows giving one unique value clash, and sensitive values are sealed),
parents in one query. ``insert`` then writes the entities, their creation history rows and
``EntityCreated`` outbox rows, and what the ORM's listeners keep for a single create: the
entity counts (``counts.added``) and the SLA clocks (``sla_keeping.added``). The search
indexes follow through the database's insert triggers, as for any insert; the caller adds the
names and searchable values to the vocabulary (``searchable.values``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, storable_id
from webapp.core.base.events import ENTITY_CREATED
from webapp.core.base.relations import chunked
from webapp.core.changes import counts, entities
from webapp.core.changes.statements import Statements, statements_for
from webapp.core.changes.writer import insert_outbox
from webapp.core.fields.secrets import Keyring
from webapp.core.fields.validation import Lookups
from webapp.core.workflows import sla_keeping
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity, StatusChange

#: What a create may give (``entities.create`` refuses anything else).
GIVEN = ("name", "status", "data", "parent_id", "last_activity_at")
_T = Entity.__table__
_H = StatusChange.__table__
_COLUMNS = ("type", "name", "status", "version", "data", "parent_id", "last_activity_at",
            "status_changed_at", "created_at", "updated_at")


@dataclass(slots=True)
class NewEntity:
    """A create that passed its checks: the row to insert (``id`` once inserted)."""

    type: str
    name: str
    status: str
    #: As stored: read by the field kinds, sensitive values sealed.
    data: dict[str, Any]
    parent_id: int | None
    last_activity_at: datetime | None
    #: The history source: ``import`` when a status or activity time was given.
    source: str
    id: int | None = None


def check(session: Session, wf: Workflow, given: Sequence[Mapping[str, Any]], source: str, *,
          lookups: Lookups, keyring: Keyring) -> list[NewEntity | InvalidInput]:
    """Each of ``given`` (a create's fields, the type being ``wf``'s) as a NewEntity, or the
    InvalidInput ``entities.create`` would raise for it."""
    out: list[NewEntity | InvalidInput] = [_fixed(wf, fields, source) for fields in given]
    parents = _parents(session, wf, [n.parent_id for n in out if isinstance(n, NewEntity)])
    ok = [i for i, n in enumerate(out)
          if isinstance(n, NewEntity) and parents[n.parent_id] is None]
    checked = entities.check_data_many(wf, [(given[i].get("data") or {}, None, None) for i in ok],
                                       lookups=lookups, creating=True, keyring=keyring)
    for i, (data, error) in zip(ok, checked, strict=True):
        if error is None:
            out[i].data = data  # type: ignore[union-attr]
        else:
            out[i] = error
    for i, new in enumerate(out):
        refused = parents[new.parent_id] if isinstance(new, NewEntity) else None
        if refused is not None:
            out[i] = _bad_parent(session, wf, given[i], refused, keyring)
    return out


def _fixed(wf: Workflow, fields: Mapping[str, Any], source: str) -> NewEntity | InvalidInput:
    """The checks before the data's, in ``entities.create``'s order."""
    unknown = set(fields) - set(GIVEN)
    if unknown:
        return InvalidInput("Unknown fields.",
                            {f: "not a field of an entity" for f in sorted(unknown)})
    try:
        status, imported = entities._initial_status(wf, fields.get("status"))
        activity = fields.get("last_activity_at")
        if activity is not None and not isinstance(activity, datetime):
            raise InvalidInput("Invalid last_activity_at.",
                               {"last_activity_at": "Use an ISO 8601 time."})
        name = entities.check_name(fields.get("name"))
    except InvalidInput as err:
        return err
    return NewEntity(wf.entity_type, name, status, {}, fields.get("parent_id"), activity,
                     "import" if imported or activity is not None else source)


def _parents(session: Session, wf: Workflow, given: Sequence[Any]
             ) -> dict[Any, InvalidInput | None]:
    """Each parent id given -> None when it names an entity of the parent type, else the
    InvalidInput ``entities.create`` raises for it (asked in one query per chunk)."""
    wanted = {p for p in given if p is not None}
    found: set[int] = set()
    numbers = sorted(p for p in wanted if isinstance(p, int) and not isinstance(p, bool)
                     and storable_id(p))
    if wf.parent_type is not None:
        for part in chunked(numbers):
            found.update(session.scalars(select(Entity.id).where(
                Entity.id.in_(part), Entity.type == wf.parent_type)))
    answers: dict[Any, InvalidInput | None] = {None: None}
    for parent in wanted:
        answers[parent] = None if parent in found else _parent_error(wf, parent)
    return answers


def _parent_error(wf: Workflow, parent_id: Any) -> InvalidInput:
    if wf.parent_type is None:
        return InvalidInput(f"A {wf.label.lower()} has no parent.",
                            {"parent_id": "Leave it empty."})
    if isinstance(parent_id, bool) or not isinstance(parent_id, int):
        return InvalidInput("parent_id must be an entity id.",
                            {"parent_id": "Send a whole number."})
    return InvalidInput(f"The parent of a {wf.label.lower()} must be a {wf.parent_type}.",
                        {"parent_id": f"No {wf.parent_type} with id {parent_id}."})


def _bad_parent(session: Session, wf: Workflow, fields: Mapping[str, Any], error: InvalidInput,
                keyring: Keyring) -> InvalidInput:
    """A row whose parent is refused: its data's failure when it has one (a single create
    checks the data first), found with Lookups of its own, so that the values of a row that
    is not created claim nothing."""
    try:
        entities.check_data(wf, fields.get("data") or {}, creating=True, keyring=keyring,
                            lookups=Lookups(session, wf.entity_type))
    except InvalidInput as data_error:
        return data_error
    return error


def insert(session: Session, new: Sequence[NewEntity], actor: Actor, now: datetime, cid: str
           ) -> list[dict[str, Any]]:
    """Write the checked entities (setting their ids) with their history, outbox rows, counts
    and SLA clocks; returns the EntityCreated payloads, in order."""
    if not new:
        return []
    sql = statements_for(session.connection())
    for part in chunked(list(new)):
        for entity, eid in zip(part, _insert_entities(sql, part, now), strict=True):
            entity.id = eid
    sql.insert_history(_history_rows(sql, new, actor, now, cid))
    payloads = [{"event": ENTITY_CREATED, "entity_id": e.id, "type": e.type, "name": e.name,
                 "new_status": e.status, "source": e.source, "actor": actor.name,
                 "correlation_id": cid, "parent_id": e.parent_id} for e in new]
    insert_outbox(session, ENTITY_CREATED, [(p["entity_id"], p) for p in payloads], now)
    rows = [{"id": e.id, "type": e.type, "status": e.status, "data": e.data, "created_at": now}
            for e in new]
    sla_keeping.added(session, rows, now)
    counts.added(session, rows)  # last, as the writer does: the count rows are shared
    return payloads


def _insert_entities(sql: Statements, new: Sequence[NewEntity], now: datetime) -> list[int]:
    """Insert the rows in order; their new ids in the same order."""
    when, as_json = sql.bind(_T.c.created_at), sql.json(_T.c.data)
    now_db = when(now)
    rows = [(e.type, e.name, e.status, 1, as_json(e.data), e.parent_id,
             when(e.last_activity_at) if e.last_activity_at else now_db, now_db, now_db, now_db)
            for e in new]
    conn = sql.conn
    if conn.dialect.name != "postgresql":
        marks = ", ".join(["?"] * len(_COLUMNS))
        conn.exec_driver_sql(f"INSERT INTO {_T.name} ({', '.join(_COLUMNS)}) VALUES ({marks})",
                             rows)
        # As the history's (statements.py): one executemany under the write lock numbers
        # its rows consecutively.
        last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
        return list(range(last - len(rows) + 1, last + 1))
    ids = sorted(conn.exec_driver_sql(
        f"SELECT nextval(pg_get_serial_sequence('{_T.name}', 'id')) "
        f"FROM generate_series(1, %s)", (len(rows),)).scalars())
    conn.exec_driver_sql(_PG_ENTITIES, tuple(list(c) for c in zip(
        *[(eid, *row) for eid, row in zip(ids, rows, strict=True)], strict=True)))
    return ids


_PG_ENTITIES = (
    f"INSERT INTO {_T.name} (id, {', '.join(_COLUMNS)}) "
    f"SELECT v.id, v.type, v.name, v.status, v.version, v.data::jsonb, v.parent_id, "
    f"v.last_activity_at, v.status_changed_at, v.created_at, v.updated_at "
    f"FROM unnest(%s::integer[], %s::varchar[], %s::varchar[], %s::varchar[], %s::integer[], "
    f"%s::text[], %s::integer[], %s::timestamp[], %s::timestamp[], %s::timestamp[], "
    f"%s::timestamp[]) AS v(id, {', '.join(_COLUMNS)}) ORDER BY v.id")


def _history_rows(sql: Statements, new: Sequence[NewEntity], actor: Actor, now: datetime,
                  cid: str) -> list[tuple[Any, ...]]:
    """Each entity's creation row (HISTORY_COLUMNS), as ``entities.create`` records it."""
    as_json, now_db = sql.json(_H.c.metadata), sql.bind(_H.c.created_at)(now)
    empty = as_json({})
    return [(e.id, None, e.status, "create", None, actor.name, e.source, cid,
             as_json({"data": {"before": {}, "after": e.data}}) if e.data else empty, None,
             now_db) for e in new]

"""Key rotation: every sealed value re-encrypted under the keyring's current key, in chunks.

``flask keys rotate`` makes a new key current (old ones still open what they sealed), then
calls ``reseal_all``: a chunk of entities at a time, in id order, each chunk one transaction
holding its rows' locks, so a writer never mixes its change with ours. An entity's row and
its history rows go in the same chunk, and one old token becomes the same new token in all
of them: equal stored values keep meaning equal values (undo and revert compare them).
Re-running continues where a run stopped: only rows naming an old key are read at all, and a
value already under the current key is left as it is. Memory holds one chunk. Bulk operations
waiting to run keep their sensitive values sealed too; they follow the entities.

The values of a unique sensitive field (``unique_fields``) carry a blind index made with the
key that sealed them; re-sealed, they get the new key's index. Values of such a field sealed
before indexes existed get one too, whatever key they are under: a rotation is how they are
upgraded (until then uniqueness checks open them, see ``lookups``).

``still_using`` then tells whether an old key can be dropped.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, false, func, not_, or_, select, update
from sqlalchemy.orm import Session

from webapp.core.base import lease
from webapp.core.base.sealed import PREFIX, is_sealed, key_id
from webapp.core.base.transactions import write_transaction
from webapp.core.fields.secrets import Keyring, has_index
from webapp.core.fields.spec import FieldSpec
from webapp.models import BulkOperation, Entity, StatusChange

CHUNK = 1000
LEASE = "keys-rotate"
#: How long the rotation's lease lasts without a renewal (each chunk renews it).
LEASE_TTL = timedelta(minutes=5)
_E = Entity.__table__
_H = StatusChange.__table__
_B = BulkOperation.__table__
#: Every (table, JSON column) that may hold sealed values.
SEALED_COLUMNS = ((_E, "data"), (_H, "metadata"), (_B, "params"))
#: entity type -> {field name: spec} of its unique sensitive fields (blind-indexed values).
Indexed = Mapping[str, Mapping[str, FieldSpec]]


@dataclass
class Progress:
    """What one chunk, or a whole run, did."""

    #: "entities" (with their history) or "bulk operations".
    what: str = "entities"
    up_to_id: int = 0
    last_id: int = 0
    #: Rows rewritten (entities, or bulk operations).
    rows: int = 0
    history_rows: int = 0
    values: int = 0
    #: Values under an old key that it fails to open (damaged): they keep that key.
    unreadable: int = 0

    def add(self, other: Progress) -> None:
        self.up_to_id = other.up_to_id
        self.rows += other.rows
        self.history_rows += other.history_rows
        self.values += other.values
        self.unreadable += other.unreadable


class RotationBusy(Exception):
    """Another process is rotating keys right now."""


def unique_fields(types_specs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, FieldSpec]]:
    """The fields whose sealed values carry a blind index, by type (``reseal_all`` takes it)."""
    out = {t: {n: s for n, s in specs.items() if getattr(s, "sensitive", False)
               and getattr(s, "unique", False)} for t, specs in types_specs.items()}
    return {t: fields for t, fields in out.items() if fields}


def reseal_all(session: Session, keyring: Keyring, clock: Callable[[], datetime],
               chunk: int = CHUNK, on_chunk: Callable[[Progress], None] | None = None,
               indexed: Indexed | None = None) -> Progress:
    """Re-encrypt every value sealed under an old key of ``keyring`` with its current key,
    and give the values of ``indexed`` fields (``unique_fields``) their blind index."""
    total = Progress(what="entities and bulk operations")
    indexed = indexed or {}
    if not keyring.old_ids and not indexed:
        return total
    holder = lease.new_holder("keys-rotate")
    if not lease.acquire(session, LEASE, holder, clock(), LEASE_TTL):
        raise RotationBusy("Another `keys rotate` is running; wait for it to finish.")
    try:
        def entities(session: Session, keyring: Keyring, ids: Sequence[int]) -> Progress:
            return _reseal_entities(session, keyring, ids, indexed)

        for what, table, reseal in (("entities", _E, entities),
                                    ("bulk operations", _B, _reseal_operations)):
            for done in _chunks(session, keyring, table, reseal, chunk,
                                lambda: lease.keep(session, LEASE, holder, clock(), LEASE_TTL)):
                done.what = what
                total.add(done)
                if on_chunk:
                    on_chunk(done)
    finally:
        lease.release(session, LEASE, holder)
    return total


def _chunks(session: Session, keyring: Keyring, table: Any, reseal: Callable[..., Progress],
            chunk: int, keep_lease: Callable[[], None]) -> Iterator[Progress]:
    """``reseal`` over the table's ids in keyset chunks, each chunk one committed transaction."""
    last_id = session.scalar(select(func.max(table.c.id))) or 0
    after = 0
    while True:
        with write_transaction(session):
            keep_lease()
            ids = session.scalars(select(table.c.id).where(table.c.id > after)
                                  .order_by(table.c.id).limit(chunk)).all()
            if not ids:
                return
            done = reseal(session, keyring, ids)
        after = done.up_to_id = ids[-1]
        done.last_id = last_id
        yield done


def still_using(session: Session, key_ids: Sequence[str]) -> dict[str, int]:
    """For each key id, how many rows (entities, history, bulk operations) hold a value sealed
    under it."""
    return {kid: sum(session.scalar(select(func.count()).select_from(table).where(
        _names_key(table.c[column], [kid]))) or 0 for table, column in SEALED_COLUMNS)
        for kid in key_ids}


def _reseal_entities(session: Session, keyring: Keyring, ids: Sequence[int],
                     indexed: Indexed) -> Progress:
    """A chunk of entities and their history rows, one old token to one new token."""
    old, renamed = keyring.old_ids, _Renamer(keyring)
    wanted = or_(_names_key(_E.c.data, old), _without_index(indexed))
    rows = session.connection().execute(select(_E.c.id, _E.c.data, _E.c.type).where(
        _E.c.id.in_(ids), wanted).with_for_update()).all()
    fields = {row[0]: indexed[row[2]] for row in rows if row[2] in indexed}
    # History rows naming an old key, and those of entities whose indexed values may lack an
    # index (their tokens, under any key, become the entity's new ones).
    upgrading = and_(_H.c.entity_id.in_(list(fields)), cast(_H.c.metadata, Text).like(
        f"%{PREFIX}%")) if fields else false()
    history = session.connection().execute(select(_H.c.id, _H.c.metadata, _H.c.entity_id).where(
        _H.c.entity_id.in_(ids), or_(_names_key(_H.c.metadata, old), upgrading))).all()
    entity_docs = [(i, renamed.entity_doc(doc, fields.get(i, {}))) for i, doc, _t in rows]
    history_docs = [(i, renamed.history_doc(doc, fields.get(e, {}))) for i, doc, e in history]
    done = Progress(
        rows=_rewrite(session, _E, "data", _changed(rows, entity_docs)),
        history_rows=_rewrite(session, _H, "metadata", _changed(history, history_docs)))
    done.values, done.unreadable = len(renamed.mapping), renamed.unreadable
    return done


def _reseal_operations(session: Session, keyring: Keyring, ids: Sequence[int]) -> Progress:
    renamed = _Renamer(keyring)
    rows = _locked(session, _B, "params", ids, keyring.old_ids) if keyring.old_ids else []
    done = Progress(rows=_rewrite(session, _B, "params", _changed(
        rows, [(i, renamed.doc(doc)) for i, doc in rows])))
    done.values, done.unreadable = len(renamed.mapping), renamed.unreadable
    return done


def _locked(session: Session, table: Any, column: str, ids: Sequence[int],
            old: Sequence[str]) -> Sequence[Any]:
    """(id, document) of the rows among ``ids`` naming an old key, locked until the commit."""
    return session.connection().execute(select(table.c.id, table.c[column]).where(
        table.c.id.in_(ids), _names_key(table.c[column], old)).with_for_update()).all()


def _changed(rows: Sequence[Any], new: Iterable[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """(id, new document) of the rows whose document changed."""
    return [(i, doc) for row, (i, doc) in zip(rows, new, strict=True) if doc != row[1]]


def _without_index(indexed: Indexed) -> Any:
    """Entities whose unique sensitive field holds a value sealed without a blind index."""
    conditions = []
    for entity_type, fields in indexed.items():
        for name in fields:
            text = _E.c.data[name].as_string()
            conditions.append(and_(_E.c.type == entity_type, text.like(f"{PREFIX}%"),
                                   not_(text.like(f"{PREFIX}%:%:%"))))
    return or_(*conditions) if conditions else false()


def _rewrite(session: Session, table: Any, column: str, rows: list[tuple[int, Any]]) -> int:
    if rows:
        session.connection().execute(
            update(table).where(table.c.id == bindparam("row_id"))
            .values({column: bindparam("doc")}),
            [{"row_id": row_id, "doc": doc} for row_id, doc in rows])
    return len(rows)


class _Renamer:
    """Old tokens to new ones, each old token re-encrypted once per chunk."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.current = keyring.current_id
        self.mapping: dict[tuple[str, bool], str] = {}
        self.failed: set[str] = set()

    @property
    def unreadable(self) -> int:
        return len(self.failed)

    def entity_doc(self, data: Any, fields: Mapping[str, FieldSpec]) -> Any:
        """An entity's data: the ``fields`` named are blind-indexed, the rest as ``doc``."""
        if not fields or not isinstance(data, dict):
            return self.doc(data)
        return {k: self.value(v, fields[k]) if k in fields else self.doc(v)
                for k, v in data.items()}

    def history_doc(self, meta: Any, fields: Mapping[str, FieldSpec]) -> Any:
        """A history row's metadata: its data diff's sides read as an entity's data."""
        if not fields or not isinstance(meta, dict):
            return self.doc(meta)
        return {k: {side: self.entity_doc(values, fields) for side, values in v.items()}
                if k == "data" and isinstance(v, dict) else self.doc(v) for k, v in meta.items()}

    def doc(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.doc(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.doc(v) for v in value]
        return self.value(value, None)

    def value(self, value: Any, spec: FieldSpec | None) -> Any:
        """One value: re-sealed when under an old key, or when it lacks the index it needs."""
        if not is_sealed(value) or value in self.failed:
            return value
        if key_id(value) == self.current and (spec is None or has_index(value)):
            return value
        if (value, spec is not None) not in self.mapping:
            new = self.keyring.reseal(value, spec)
            if new is None:
                self.failed.add(value)
                return value
            self.mapping[(value, spec is not None)] = new
        return self.mapping[(value, spec is not None)]


def _names_key(column: Any, key_ids: Sequence[str]) -> Any:
    """The JSON column's text names a value sealed under one of these keys."""
    text = cast(column, Text)
    return or_(false(), *(text.like(f"%{PREFIX}{kid}:%") for kid in key_ids))



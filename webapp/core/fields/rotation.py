"""Key rotation: every sealed value re-encrypted under the keyring's current key, in chunks.

``flask keys rotate`` makes a new key current (old ones still open what they sealed), then
calls ``reseal_all``: a chunk of entities at a time, in id order, each chunk one transaction
holding its rows' locks, so a writer never mixes its change with ours. An entity's row and
its history rows go in the same chunk, and one old token becomes the same new token in all
of them: equal stored values keep meaning equal values (undo and revert compare them).
Re-running continues where a run stopped: only rows naming an old key are read at all, and a
value already under the current key is left as it is. Memory holds one chunk. Bulk operations
waiting to run keep their sensitive values sealed too; they follow the entities.

``still_using`` then tells whether an old key can be dropped.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, or_, select, update
from sqlalchemy.orm import Session

from webapp.core.base import lease
from webapp.core.base.sealed import PREFIX, is_sealed, key_id
from webapp.core.base.transactions import write_transaction
from webapp.core.fields.secrets import Keyring
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


def reseal_all(session: Session, keyring: Keyring, clock: Callable[[], datetime],
               chunk: int = CHUNK, on_chunk: Callable[[Progress], None] | None = None) -> Progress:
    """Re-encrypt every value sealed under an old key of ``keyring`` with its current key."""
    total = Progress(what="entities and bulk operations")
    if not keyring.old_ids:
        return total
    holder = lease.new_holder("keys-rotate")
    if not lease.acquire(session, LEASE, holder, clock(), LEASE_TTL):
        raise RotationBusy("Another `keys rotate` is running; wait for it to finish.")
    try:
        for what, table, reseal in (("entities", _E, _reseal_entities),
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


def _reseal_entities(session: Session, keyring: Keyring, ids: Sequence[int]) -> Progress:
    """A chunk of entities and their history rows, one old token to one new token."""
    old, renamed = keyring.old_ids, _Renamer(keyring)
    rows = _locked(session, _E, "data", ids, old)
    history = session.connection().execute(select(_H.c.id, _H.c.metadata).where(
        _H.c.entity_id.in_(ids), _names_key(_H.c.metadata, old))).all()
    done = Progress(rows=_rewrite(session, _E, "data", renamed.rows(rows)),
                    history_rows=_rewrite(session, _H, "metadata", renamed.rows(history)))
    done.values, done.unreadable = len(renamed.mapping), renamed.unreadable
    return done


def _reseal_operations(session: Session, keyring: Keyring, ids: Sequence[int]) -> Progress:
    renamed = _Renamer(keyring)
    rows = _locked(session, _B, "params", ids, keyring.old_ids)
    done = Progress(rows=_rewrite(session, _B, "params", renamed.rows(rows)))
    done.values, done.unreadable = len(renamed.mapping), renamed.unreadable
    return done


def _locked(session: Session, table: Any, column: str, ids: Sequence[int],
            old: Sequence[str]) -> Sequence[Any]:
    """(id, document) of the rows among ``ids`` naming an old key, locked until the commit."""
    return session.connection().execute(select(table.c.id, table.c[column]).where(
        table.c.id.in_(ids), _names_key(table.c[column], old)).with_for_update()).all()


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
        self.mapping: dict[str, str] = {}
        self.failed: set[str] = set()

    @property
    def unreadable(self) -> int:
        return len(self.failed)

    def rows(self, rows: Sequence[Any]) -> list[tuple[int, Any]]:
        """(id, new document) for each row that changed."""
        changed = []
        for row_id, doc in rows:
            new = self.doc(doc)
            if new != doc:
                changed.append((row_id, new))
        return changed

    def doc(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.doc(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.doc(v) for v in value]
        if not is_sealed(value) or key_id(value) == self.current or value in self.failed:
            return value
        if value not in self.mapping:
            new = self.keyring.reseal(value)
            if new is None:
                self.failed.add(value)
                return value
            self.mapping[value] = new
        return self.mapping[value]


def _names_key(column: Any, key_ids: Sequence[str]) -> Any:
    """The JSON column's text names a value sealed under one of these keys."""
    text = cast(column, Text)
    return or_(*(text.like(f"%{PREFIX}{kid}:%") for kid in key_ids))



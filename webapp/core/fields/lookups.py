"""What validation asks the database about declared fields: do referenced entities and users
exist, is a unique value taken. Each value is asked once per ``Lookups`` and remembered, and a
batch (a bulk chunk) asks about all its values at once: one ``IN`` query per referenced type,
for users and per unique field (``prefetch``), whatever the number of entities.

A sensitive unique value is compared by its blind index (``secrets``), under every key of the
keyring (during a rotation, values under the old key keep the old key's index); values sealed
before indexes existed are opened, once per Lookups, and compared as plaintext.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from webapp.core.base.relations import chunked
from webapp.core.base.sealed import PREFIX
from webapp.core.fields.secrets import Keyring, Unreadable
from webapp.core.fields.spec import FieldSpec, unique_text
from webapp.models import Entity, User


class Lookups:
    """What validation asks the database, each value asked once and remembered.

    One per entity type and write; a bulk operation keeps one per type for a whole chunk, so
    10,000 tasks assigned to one person ask for that person once, and two of them given the
    same unique value clash with each other. Without a session (``Lookups(None, type)``) only
    the shape of values is checked: nothing is looked up. A sensitive unique value is looked
    up by its blind index, which needs the ``keyring`` (``check_data`` gives it); without one
    it is left to the write, which has it.
    """

    def __init__(self, session: Session | None, entity_type: str,
                 keyring: Keyring | None = None) -> None:
        self.session = session
        self.entity_type = entity_type
        self.keyring = keyring
        #: Values already read by their field's kind, for the writes this Lookups serves
        #: (validation's ``_Walk``): a bulk update reads its one new value once, not per entity.
        self.memo: dict[tuple[Any, ...], Any] = {}
        self._entities: dict[tuple[str, int], bool] = {}
        self._users: dict[str, bool] = {}
        #: (field, unique text) -> ids of the entities holding it, for prefetched values.
        self._holders: dict[tuple[str, str], set[int]] = {}
        #: (field, value) -> who took it in this write (an entity id, or a new entity's token).
        self._claims: dict[tuple[str, Any], object] = {}
        #: field -> unique text -> ids, of values sealed before blind indexes (read once).
        self._unindexed: dict[str, dict[str, set[int]]] = {}

    def missing_references(self, ref_type: str, ids: set[int]) -> set[int]:
        """The ids among ``ids`` that name no entity of ``ref_type``."""
        asked = sorted(i for i in ids if (ref_type, i) not in self._entities)
        if asked and self.session is not None:
            for part in chunked(asked):
                found = set(self.session.scalars(select(Entity.id).where(
                    Entity.id.in_(part), Entity.type == ref_type)))
                self._entities.update(((ref_type, i), i in found) for i in part)
        return {i for i in ids if not self._entities.get((ref_type, i), self.session is None)}

    def unknown_users(self, names: set[str]) -> set[str]:
        """The names among ``names`` that are not the username of an enabled user."""
        asked = sorted(n for n in names if n not in self._users)
        if asked and self.session is not None:
            for part in chunked(asked):
                found = set(self.session.scalars(select(User.username).where(
                    User.username.in_(part), User.is_enabled.is_(True))))
                self._users.update((n, n in found) for n in part)
        return {n for n in names if not self._users.get(n, self.session is None)}

    def prefetch_unique(self, name: str, spec: FieldSpec, values: Iterable[Any]) -> None:
        """Who holds each of these values of a unique field, asked in one query per chunk of
        values (``taken`` then answers from memory)."""
        texts = sorted({unique_text(spec, v) for v in values} - {
            t for (n, t) in self._holders if n == name})
        if not texts or self.session is None or (spec.sensitive and self.keyring is None):
            return
        for text in texts:
            self._holders[(name, text)] = set()
        for part in chunked(texts):
            for entity_id, text in self._holding(name, spec, part):
                self._holders[(name, text)].add(entity_id)

    def _holding(self, name: str, spec: FieldSpec, texts: list[str]) -> list[tuple[int, str]]:
        """(entity id, unique text) of the entities of the type holding one of ``texts``."""
        stored = Entity.data[name].as_string()
        if not spec.sensitive:
            column = func.lower(stored) if spec.type == "email" else stored
            return [(i, t) for i, t in self.session.execute(  # type: ignore[union-attr]
                select(Entity.id, column).where(Entity.type == self.entity_type,
                                                column.in_(texts)))]
        prefixes = {p: t for t in texts for p in self.keyring.index_prefixes(t)}  # type: ignore[union-attr]
        head = func.substr(stored, 1, len(next(iter(prefixes))))
        found = [(i, prefixes[p]) for i, p in self.session.execute(  # type: ignore[union-attr]
            select(Entity.id, head).where(Entity.type == self.entity_type, head.in_(prefixes)))]
        unindexed = self._without_index(name, spec)
        return found + [(i, t) for t in texts for i in unindexed.get(t, ())]

    def taken(self, name: str, spec: FieldSpec, value: Any, claimant: object) -> bool:
        """Whether another entity of the type holds ``value`` in field ``name`` (or took it
        earlier in this write)."""
        key = (name, unique_text(spec, value))
        if self._claims.get(key, claimant) != claimant:
            return True
        if self.session is None or (spec.sensitive and self.keyring is None):
            return False  # a form's early check; the write, which holds the keyring, asks
        if key not in self._holders:
            self.prefetch_unique(name, spec, [value])
        return bool(self._holders[key] - {claimant})

    def _without_index(self, name: str, spec: FieldSpec) -> dict[str, set[int]]:
        """Values of the field sealed before blind indexes existed (``enc:v1:<id>:<token>``,
        one colon fewer), opened once per Lookups; ``keys rotate`` gives them an index."""
        if name not in self._unindexed:
            stored = Entity.data[name].as_string()
            rows = self.session.execute(select(Entity.id, stored).where(  # type: ignore[union-attr]
                Entity.type == self.entity_type, and_(stored.like(f"{PREFIX}%"),
                                                      not_(stored.like(f"{PREFIX}%:%:%")))))
            found: dict[str, set[int]] = defaultdict(set)
            for entity_id, sealed in rows:
                try:
                    found[unique_text(spec, self.keyring.open_value(sealed))].add(entity_id)  # type: ignore[union-attr]
                except Unreadable:
                    continue
            self._unindexed[name] = found
        return self._unindexed[name]

    def claim(self, name: str, spec: FieldSpec, value: Any, claimant: object) -> None:
        self._claims.setdefault((name, unique_text(spec, value)), claimant)

"""An entity's data checked against its type's declared fields, and stored in one form.

Every write path (create, PATCH, bulk update, import, revert, forms) calls ``validate`` with
the type's specs. It answers the data as stored (decimals as strings, dates ISO, datetimes in
UTC, ids and counts as ints) or raises ``InvalidInput`` naming each bad value once, all at once:
``{"data.price": "Price must be a number of at least 0.", "data.line_items[1].quantity": ...}``.
How each kind reads its values (and what ``from_text`` allows) is said in ``kinds``.

The rules a write is held to:
- a key the type does not declare is refused ("Foo is not a field of property.");
- ``required``: on create (after defaults), and on an update that removes the value. An entity
  stored before the field became required can still be edited without filling it in;
- ``default``: applied on create when the value is absent (also to list items on create);
- references, users and unique values are looked up in the database (``Lookups``), but only
  for values the write sets or changes: a value left as it was is not asked about again, so a
  user disabled since, or a duplicate made by declaring ``unique`` later, does not block an
  edit of another field (its shape is still checked);
- ``unique`` (text, integer, email, phone) holds within the entity's type; an email compares
  without regard to case. It does not apply to the fields of list items.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput
from webapp.core.base.relations import chunked
from webapp.core.base.words import label
from webapp.core.fields.kinds import Bad, article, is_blank, read
from webapp.core.fields.spec import FieldSpec
from webapp.models import Entity, User

#: Sentences one answer names at most (a 64 KB object of junk keys would name thousands).
ERRORS_MAX = 100
#: How much of an undeclared key an error repeats.
KEY_SHOWN = 80


class Lookups:
    """What validation asks the database, each value asked once and remembered.

    One per entity type and write; a bulk operation keeps one per type for a whole chunk, so
    10,000 tasks assigned to one person ask for that person once, and two of them given the
    same unique value clash with each other. Without a session (``Lookups(None, type)``) only
    the shape of values is checked: nothing is looked up.
    """

    def __init__(self, session: Session | None, entity_type: str) -> None:
        self.session = session
        self.entity_type = entity_type
        self._entities: dict[tuple[str, int], bool] = {}
        self._users: dict[str, bool] = {}
        #: (field, value) -> who took it in this write (an entity id, or a new entity's token).
        self._claims: dict[tuple[str, Any], object] = {}

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

    def taken(self, name: str, spec: FieldSpec, value: Any, claimant: object) -> bool:
        """Whether another entity of the type holds ``value`` in field ``name`` (or took it
        earlier in this write)."""
        key = (name, _unique_key(spec, value))
        if self._claims.get(key, claimant) != claimant:
            return True
        if self.session is None:
            return False
        stored = Entity.data[name].as_string()
        column = func.lower(stored) if spec.type == "email" else stored
        stmt = select(Entity.id).where(Entity.type == self.entity_type, column == key[1])
        if isinstance(claimant, int):
            stmt = stmt.where(Entity.id != claimant)
        return self.session.scalar(stmt.limit(1)) is not None

    def claim(self, name: str, spec: FieldSpec, value: Any, claimant: object) -> None:
        self._claims.setdefault((name, _unique_key(spec, value)), claimant)


def _unique_key(spec: FieldSpec, value: Any) -> str:
    """The value as the database's JSON text gives it back (as_string), for comparing."""
    return str(value).lower() if spec.type == "email" else str(value)


@dataclass
class _Ask:
    """A value that passed its kind's check and now needs the database."""

    top: str
    path: str
    title: str
    spec: FieldSpec
    value: Any


@dataclass
class _Walk:
    """One validation: the errors found so far and the database questions still to ask."""

    entity_type: str
    from_text: bool
    creating: bool
    errors: dict[str, str] = field(default_factory=dict)
    asks: list[_Ask] = field(default_factory=list)

    def fail(self, path: str, sentence: str) -> None:
        if len(self.errors) < ERRORS_MAX:
            self.errors.setdefault(path, sentence)

    def fields(self, specs: Mapping[str, FieldSpec], data: Mapping[Any, Any], path: str,
               owner: str, before: Mapping[str, Any] | None, top: str | None = None
               ) -> dict[str, Any]:
        """The declared fields of ``data`` (an entity's, or one list item's) as stored."""
        for key in data:
            if key not in specs:
                shown = str(key)[:KEY_SHOWN]
                self.fail(f"{path}.{shown}", f"{label(shown).capitalize()} is not a field of {owner}.")
        stored: dict[str, Any] = {}
        for name, spec in specs.items():
            value = data.get(name)
            if is_blank(value):
                if not (self.creating and spec.default is not None):
                    if spec.required and (self.creating or before is None or name in before):
                        self.fail(f"{path}.{name}", f"{spec.title(name)} is required.")
                    continue
                value = spec.default
            self._value(stored, name, spec, value, path, top or name)
        return stored

    def _value(self, stored: dict[str, Any], name: str, spec: FieldSpec, value: Any,
               path: str, top: str) -> None:
        """Store one present value; its path and title are only spelt out when needed
        (a bulk update checks this for every field of 10,000 entities)."""
        try:
            stored[name] = read(spec, value, self.from_text)
        except Bad as bad:
            self.fail(f"{path}.{name}", f"{spec.title(name)} {bad}")
            return
        if spec.type == "list":
            where = f"{path}.{name}"
            stored[name] = self._items(spec, stored[name], where, spec.title(name), top)
            if not stored[name]:
                del stored[name]  # only a form's empty rows: no value
        elif spec.type in ("reference", "user") or spec.unique:
            self.asks.append(_Ask(top, f"{path}.{name}", spec.title(name), spec, stored[name]))

    def _items(self, spec: FieldSpec, items: list[Any], where: str, title: str, top: str
               ) -> list[Any]:
        out = []
        specs = spec.item_fields or {}
        for i, item in enumerate(items):
            if self.from_text and isinstance(item, dict) and all(map(is_blank, item.values())):
                continue  # a form's empty row
            if not isinstance(item, dict):
                named = ", ".join(label(n) for n in specs)
                self.fail(f"{where}[{i}]", f"{title}: item {i + 1} must be an object with {named}.")
                continue
            out.append(self.fields(specs, item, f"{where}[{i}]", title.lower(), None, top))
        return out

    def look_up(self, lookups: Lookups, stored: Mapping[str, Any],
                before: Mapping[str, Any] | None, claimant: object) -> None:
        """Ask the database about the values this write sets or changes."""
        asks = [a for a in self.asks if a.path not in self.errors
                and (before is None or stored.get(a.top) != before.get(a.top))]
        refs: dict[str, set[int]] = defaultdict(set)
        for a in asks:
            if a.spec.type == "reference":
                refs[a.spec.ref_type or ""].add(a.value)
        missing = {t: lookups.missing_references(t, ids) for t, ids in refs.items()}
        unknown = lookups.unknown_users({a.value for a in asks if a.spec.type == "user"})
        for a in asks:
            if a.spec.type == "reference" and a.value in missing[a.spec.ref_type or ""]:
                noun = label(a.spec.ref_type)
                self.fail(a.path, f"{a.title} must be the id of {article(noun)}; there is no "
                                  f"{noun} with id {a.value}.")
            elif a.spec.type == "user" and a.value in unknown:
                self.fail(a.path, f"{a.title} must be the username of an enabled user; "
                                  f"{a.value!r} is not one.")
            elif a.spec.unique and a.path == f"data.{a.top}" and lookups.taken(
                    a.top, a.spec, a.value, claimant):
                shown = repr(a.value) if isinstance(a.value, str) else str(a.value)
                self.fail(a.path, f"{a.title} must be unique: another {label(self.entity_type)} "
                                  f"has {shown}.")
        if not self.errors:
            for a in asks:
                if a.spec.unique and a.path == f"data.{a.top}":
                    lookups.claim(a.top, a.spec, a.value, claimant)


def check(specs: Mapping[str, FieldSpec], data: Mapping[Any, Any], *, lookups: Lookups,
          creating: bool, before: Mapping[str, Any] | None = None, entity_id: int | None = None,
          from_text: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """``data`` as stored and the sentence for each bad value (none when it is valid).

    ``before`` is the entity's stored data on an update (None on create); ``entity_id`` the
    entity written, which its own unique values do not clash with."""
    walk = _Walk(lookups.entity_type, from_text, creating)
    stored = walk.fields(specs, data, "data", label(lookups.entity_type), before)
    walk.look_up(lookups, stored, before, entity_id if entity_id is not None else object())
    return stored, walk.errors


def validate(specs: Mapping[str, FieldSpec], data: Any, *, lookups: Lookups, creating: bool,
             before: Mapping[str, Any] | None = None, entity_id: int | None = None,
             from_text: bool = False) -> dict[str, Any]:
    """``data`` as stored, or ``InvalidInput`` naming every bad value (see ``check``)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("data must be a JSON object.", {"data": "Send an object, e.g. {}."})
    stored, errors = check(specs, data, lookups=lookups, creating=creating, before=before,
                           entity_id=entity_id, from_text=from_text)
    if errors:
        raise InvalidInput(summary(errors), errors)
    return stored


def summary(errors: Mapping[str, str], shown: int = 5) -> str:
    """The first few sentences, and how many more there are."""
    sentences = list(errors.values())
    more = len(sentences) - shown
    return " ".join(sentences[:shown]) + (f" And {more} more." if more > 0 else "")


def default_problems(specs: Mapping[str, FieldSpec]) -> list[str]:
    """Defaults their own field would refuse, as sentences (for checking a workflow file)."""
    with_defaults = {n: s for n, s in specs.items() if s.default is not None}
    walk = _Walk("", False, True)
    walk.fields(with_defaults, {}, "fields", "", None)
    return [f"The default of {path.removeprefix('fields.')!r}: {sentence}"
            for path, sentence in walk.errors.items()]

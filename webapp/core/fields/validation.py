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
  without regard to case. It does not apply to the fields of list items. A sensitive unique
  value is stored sealed with a blind index (``secrets``), and compared by that index under
  every key of the keyring; values sealed before indexes existed are opened and compared.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webapp.core.base.errors import InvalidInput
from webapp.core.base.words import label
from webapp.core.fields.kinds import Bad, article, is_blank, read
from webapp.core.fields.lookups import Lookups
from webapp.core.fields.secrets import seals_any
from webapp.core.fields.spec import FieldSpec

#: Sentences one answer names at most (a 64 KB object of junk keys would name thousands).
ERRORS_MAX = 100
#: How much of an undeclared key an error repeats.
KEY_SHOWN = 80
#: Values one ``Lookups.memo`` remembers at most (a chunk of 1,000 entities of 20 fields).
MEMO_MAX = 20_000
#: Values whose reading is remembered: immutable, and so is what their kind makes of them.
_SCALARS = frozenset({str, int, float, bool})
#: (data, before, entity id): one entity's data to check (``check_many``).
Item = tuple[Mapping[Any, Any], Mapping[str, Any] | None, int | None]

#: Fields blocks whose ``compiled`` form is kept (a few per type: one per workflow version).
COMPILED_MAX = 256

__all__ = ["Lookups", "check", "check_many", "compiled", "default_problems", "summary",
           "validate"]


@dataclass(frozen=True)
class Compiled:
    """What a type's fields block says, worked out once per block (the registry parses one
    per workflow version) instead of once per entity written."""

    specs: Mapping[str, FieldSpec]
    #: Whether data of these fields may hold values to seal (``secrets.seals_any``).
    seals: bool


_COMPILED: dict[int, Compiled] = {}


def compiled(specs: Mapping[str, FieldSpec]) -> Compiled:
    """The block's ``Compiled`` form, cached by the block itself (kept, so its id stays its
    own; a new workflow version is a new block)."""
    found = _COMPILED.get(id(specs))
    if found is None or found.specs is not specs:
        if len(_COMPILED) >= COMPILED_MAX:
            _COMPILED.clear()
        found = _COMPILED[id(specs)] = Compiled(specs, seals_any(specs))
    return found


@dataclass(slots=True)
class _Ask:
    """A value that passed its kind's check and now needs the database."""

    top: str
    path: str
    title: str
    spec: FieldSpec
    value: Any


@dataclass(slots=True)
class _Walk:
    """One validation: the errors found so far and the database questions still to ask."""

    entity_type: str
    from_text: bool
    creating: bool
    errors: dict[str, str] = field(default_factory=dict)
    asks: list[_Ask] = field(default_factory=list)
    #: Readings shared with other walks of the same write (``Lookups.memo``).
    memo: dict[tuple[Any, ...], Any] | None = None

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
            stored[name] = self._read(spec, value)
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

    def _read(self, spec: FieldSpec, value: Any) -> Any:
        """``kinds.read``, remembered for scalar values: 10,000 entities given one new value,
        or holding the same priority, read it once."""
        if self.memo is None or type(value) not in _SCALARS:
            return read(spec, value, self.from_text)
        key = (id(spec), self.from_text, type(value), value)
        entry = self.memo.get(key)
        if entry is not None and entry[0] is spec:  # the spec is kept: its id stays its own
            hit = entry[1]
        else:
            try:
                hit = read(spec, value, self.from_text)
            except Bad as bad:
                hit = _Refused(str(bad))
            if len(self.memo) < MEMO_MAX:
                self.memo[key] = (spec, hit)
        if isinstance(hit, _Refused):
            raise Bad(hit.rest)
        return hit

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

    def to_ask(self, stored: Mapping[str, Any], before: Mapping[str, Any] | None) -> list[_Ask]:
        """The values this write sets or changes that the database must be asked about."""
        return [a for a in self.asks if a.path not in self.errors
                and (before is None or stored.get(a.top) != before.get(a.top))]

    def look_up(self, lookups: Lookups, asks: list[_Ask], claimant: object) -> None:
        """Ask the database about the values this write sets or changes (``to_ask``)."""
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


@dataclass(frozen=True)
class _Refused:
    """A remembered reading that failed: the rest of its sentence."""

    rest: str


def check(specs: Mapping[str, FieldSpec], data: Mapping[Any, Any], *, lookups: Lookups,
          creating: bool, before: Mapping[str, Any] | None = None, entity_id: int | None = None,
          from_text: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """``data`` as stored and the sentence for each bad value (none when it is valid).

    ``before`` is the entity's stored data on an update (None on create); ``entity_id`` the
    entity written, which its own unique values do not clash with."""
    [result] = check_many(specs, [(data, before, entity_id)], lookups=lookups,
                          creating=creating, from_text=from_text)
    return result


def check_many(specs: Mapping[str, FieldSpec], items: Sequence[Item], *, lookups: Lookups,
               creating: bool, from_text: bool = False
               ) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """``check`` for many entities of one type (a bulk chunk), with the same answers as one
    ``check`` after another: values are read once each (``Lookups.memo``), the database is
    asked about all of them at once, and a unique value two of them take goes to the first."""
    owner = label(lookups.entity_type)
    results: list[tuple[dict[str, Any], dict[str, str]]] = []
    # Only the entities with something to ask wait for the answers: the others are done at
    # once (keeping 1,000 finished walks alive would cost the garbage collector more).
    waiting: list[tuple[int, _Walk, list[_Ask], int | None]] = []
    for data, before, entity_id in items:
        walk = _Walk(lookups.entity_type, from_text, creating, memo=lookups.memo)
        stored = walk.fields(specs, data, "data", owner, before)
        asks = walk.to_ask(stored, before) if walk.asks else []
        if asks:
            waiting.append((len(results), walk, asks, entity_id))
        results.append((stored, walk.errors))
    if len(waiting) > 1:
        _prefetch(lookups, [a for _, _, asks, _ in waiting for a in asks])
    for _, walk, asks, entity_id in waiting:
        walk.look_up(lookups, asks, entity_id if entity_id is not None else object())
    return results


def _prefetch(lookups: Lookups, asks: list[_Ask]) -> None:
    """One question per referenced type, for users and per unique field, for a whole batch."""
    refs: dict[str, set[int]] = defaultdict(set)
    unique: dict[str, tuple[FieldSpec, list[Any]]] = {}
    for a in asks:
        if a.spec.type == "reference":
            refs[a.spec.ref_type or ""].add(a.value)
        elif a.spec.unique and a.path == f"data.{a.top}":
            unique.setdefault(a.top, (a.spec, []))[1].append(a.value)
    for ref_type, ids in refs.items():
        lookups.missing_references(ref_type, ids)
    lookups.unknown_users({a.value for a in asks if a.spec.type == "user"})
    for name, (spec, values) in unique.items():
        lookups.prefetch_unique(name, spec, values)


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

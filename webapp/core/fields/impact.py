"""What changing a type's declared fields would do to the entities already stored.

A workflow file (import, CLI, editor) may change a type's ``fields``. Nothing stored is
rewritten when it does: old values stay readable, and the entity page flags those that no
longer validate. Before saving, the check says how many entities would hold a value the new
fields refuse, field by field, with a few examples a person can open:

    price: 12 entities hold a value the new fields refuse (e.g. #41 '-5': Price must be a
    number of at least 0.).
    bedrooms is now required: 300 entities have none (e.g. #1, #2, #3).

Only what the change touches is counted: a field whose declaration changed (or is new), a key
no longer declared, and every undeclared key when the type had no fields before. A value that
was already refused under the old fields and still is under an unchanged declaration is not
news, so it is not reported again.

Values are checked for their shape only (``Lookups(None, type)``): references and users are
not looked up, so the check reads nothing but the rows it is given. A field newly declared
``unique`` is checked among those rows: each entity holding a value an earlier one holds is
counted (an email without regard to case; a sensitive value by its blind index, see
``secrets``). Sealed (sensitive) values are never opened: this module holds no key. Where a
change could refuse one (its kind, bounds, pattern... changed, or it became unique and the
value has no blind index), it is counted as not checked, and that too asks for confirmation:
an import must not refuse values nobody could look at without saying so. The caller reads the
rows (``webapp.core.workflows.editing.import_impact``, in chunks by id) and may stop early:
counting stops after ``EXACT_LIMIT`` entities and the report then says "at least".
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from webapp.core.base.sealed import is_sealed
from webapp.core.base.words import label
from webapp.core.fields.kinds import is_blank
from webapp.core.fields.secrets import has_index
from webapp.core.fields.spec import FieldSpec, unique_text
from webapp.core.fields.validation import Lookups, check

#: Entities counted exactly per type; past it the report says "at least" (about 2 s of work).
EXACT_LIMIT = 100_000
#: Example entities named per field.
EXAMPLES = 3
#: Characters of a refused value an example repeats.
SHOWN = 40
#: How an example shows an encrypted value (its plaintext is never read here).
MASKED = "(encrypted)"

Specs = Mapping[str, FieldSpec]
Problem = Literal["refused", "missing", "undeclared", "unchecked"]
#: What a spec says that may refuse a value (the others only change how it is shown or found).
_VALIDITY = frozenset({"type", "required", "choices", "min", "max", "max_length", "pattern",
                       "ref_type", "item_fields"})
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


@dataclass
class Example:
    entity_id: int
    value: str
    message: str


@dataclass
class FieldImpact:
    """The entities one field's change would leave invalid (each counted once per field)."""

    name: str
    problem: Problem
    count: int = 0
    examples: list[Example] = field(default_factory=list)

    def add(self, entity_id: int, value: str = "", message: str = "") -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(Example(entity_id, value, message))


@dataclass
class Impact:
    """The report for one type: what the new fields would refuse among the entities read."""

    entity_type: str
    scanned: int = 0
    #: False when counting stopped at the limit: the counts are lower bounds.
    complete: bool = True
    #: Sealed values not checked (their plaintext needs the key).
    sealed_skipped: int = 0
    fields: dict[tuple[str, Problem], FieldImpact] = field(default_factory=dict)
    #: (field, value compared) -> the first entity holding it, for fields newly unique.
    holders: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    @property
    def violating(self) -> bool:
        """Whether the change needs a person's confirmation: it refuses stored values, or
        could refuse encrypted ones nobody could check."""
        return bool(self.fields)

    def note(self, name: str, problem: Problem) -> FieldImpact:
        return self.fields.setdefault((name, problem), FieldImpact(name, problem))

    def sentences(self) -> list[str]:
        """One sentence per field, each starting with the type (as import problems do)."""
        return [f"{self.entity_type}: {_sentence(f, self.entity_type, self.complete)}"
                for f in self.fields.values()]


def changed(old: Specs, new: Specs) -> set[str]:
    """The fields whose declaration the change adds or alters."""
    return {name for name, spec in new.items() if old.get(name) != spec}


def needs_check(old: Specs, new: Specs) -> bool:
    """Whether any stored entity could be refused by ``new`` for a reason ``old`` did not give.

    New fields of none (free-form data again) refuse nothing."""
    return bool(new) and (changed(old, new) != set() or set(old) - set(new) != set())


def impact(entity_type: str, old: Specs, new: Specs, rows: Iterable[tuple[int, Any]], *,
           limit: int = EXACT_LIMIT) -> Impact:
    """Check each stored ``(id, data)`` against ``new``, counting per field what it refuses.

    Reads at most ``limit + 1`` rows: the one past the limit only says there are more."""
    report = Impact(entity_type)
    if not needs_check(old, new):
        return report
    touched = changed(old, new)
    specs = {name: new[name] for name in touched}
    for entity_id, data in rows:
        if report.scanned >= limit:
            report.complete = False
            break
        report.scanned += 1
        if isinstance(data, Mapping):
            refused = _entity(report, entity_id, data, old, new, specs)
            _duplicates(report, entity_id, data, old, specs, refused)
    return report


def _newly_unique(old: FieldSpec | None, new: FieldSpec) -> bool:
    return new.unique and not (old is not None and old.unique)


def _validity_changed(old: FieldSpec | None, new: FieldSpec) -> bool:
    return old is None or old.model_dump(include=_VALIDITY) != new.model_dump(include=_VALIDITY)


def _duplicates(report: Impact, entity_id: int, data: Mapping[str, Any], old: Specs,
                specs: Specs, refused: set[str]) -> None:
    """Values of a newly unique field that an earlier entity of the rows holds too (a value
    refused for its shape already is counted once)."""
    for name, spec in specs.items():
        value = data.get(name)
        if not _newly_unique(old.get(name), spec) or name in refused or is_blank(value) \
                or isinstance(value, dict | list):
            continue
        if is_sealed(value):
            if not has_index(value):
                continue  # counted as not checked by _entity
            key, shown = value[:value.rindex(":") + 1], MASKED
        else:
            key, shown = unique_text(spec, value), _shown(value)
        first = report.holders.setdefault((name, key), entity_id)
        if first != entity_id:
            report.note(name, "refused").add(
                entity_id, shown, f"{spec.title(name)} must be unique: #{first} has the same value.")


def _entity(report: Impact, entity_id: int, data: Mapping[str, Any], old: Specs, new: Specs,
            specs: Specs) -> set[str]:
    """Count what the new fields refuse in one entity's data; the fields refused."""
    for key in data:
        if key not in new and (not old or key in old):
            report.note(str(key)[:SHOWN], "undeclared").add(entity_id)
    missing = {name for name, spec in specs.items() if spec.required and is_blank(data.get(name))}
    for name in missing:
        report.note(name, "missing").add(entity_id)
    values = {name: data[name] for name in specs if name in data and name not in missing}
    sealed = {name for name, value in values.items() if is_sealed(value)}
    report.sealed_skipped += len(sealed)
    for name in sealed:
        if _validity_changed(old.get(name), specs[name]) or (
                _newly_unique(old.get(name), specs[name]) and not has_index(values[name])):
            report.note(name, "unchecked").add(entity_id)
    values = {name: value for name, value in values.items() if name not in sealed}
    if not values:
        return set()
    _, errors = check({n: specs[n] for n in values}, values,
                      lookups=Lookups(None, report.entity_type), creating=False, before=values)
    seen: set[str] = set()
    for path, message in errors.items():
        top, value = _at(values, path)
        if top in seen or is_sealed(value):  # one count per entity and field; a sealed item value
            continue
        seen.add(top)
        report.note(top, "refused").add(entity_id, _shown(value), message)
    return seen


def _at(values: Mapping[str, Any], path: str) -> tuple[str, Any]:
    """The top-level field an error path names, and the value it points at ("data.a[1].b")."""
    steps: list[str | int] = [key if key else int(index)
             for key, index in _STEP.findall(path.removeprefix("data"))]
    value: Any = values
    for step in steps:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            break
    return str(steps[0]) if steps else path, value


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= SHOWN else text[:SHOWN - 1] + "…"


def _sentence(f: FieldImpact, entity_type: str, complete: bool) -> str:
    entities = f"{f.count:,}" if complete else f"at least {f.count:,}"
    noun = "entity" if f.count == 1 else "entities"
    if f.problem == "missing":
        ids = ", ".join(f"#{e.entity_id}" for e in f.examples)
        return f"{f.name} is now required: {entities} {noun} {_have(f.count, 'none')} (e.g. {ids})."
    if f.problem == "unchecked":
        it, was = ("it", "value was") if f.count == 1 else ("them", "values were")
        return (f"{f.name}: {entities} encrypted {was} not checked (the check cannot read "
                f"{it}); the new declaration may refuse {it}.")
    if f.problem == "undeclared":
        ids = ", ".join(f"#{e.entity_id}" for e in f.examples)
        return (f"{f.name} is not a field of {label(entity_type)} any more: {entities} {noun} "
                f"{_have(f.count, 'a value for it')}, kept as stored (e.g. {ids}).")
    shown = "; ".join(f"#{e.entity_id} {e.value}: {e.message}" for e in f.examples)
    holds = "holds" if f.count == 1 else "hold"
    return f"{f.name}: {entities} {noun} {holds} a value the new fields refuse (e.g. {shown})."


def _have(count: int, what: str) -> str:
    return f"{'has' if count == 1 else 'have'} {what}"

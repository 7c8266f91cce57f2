"""Filters and sorts on a type's declared fields (CONTRACT §7): ``data.price__gte=300000``,
``data.priority__in=HIGH,CRITICAL``, ``sort=-data.price``.

A filter names a ``filterable`` field of the listed type and an operator; its value is read as
the field reads a form's text (core/fields/kinds.py), so ``data.listed_on__gte=2025-1-1`` gets
the field's own message, but not held to the field's bounds (``bedrooms__lt=100`` is a fair
question about a field of 0-50). Any other field, an unknown operator or a bad value is a 400
naming the parameter. The SQL is fields/columns.py's expression, the one its index is built on.
On PostgreSQL ``estimated_matches`` reads how many entities filters match off that index's
statistics, for the list's choice between walking the ids and sorting the matches.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from webapp.core.base.errors import InvalidInput
from webapp.core.fields import columns, kinds
from webapp.core.fields.spec import TEXTUAL, FieldSpec

#: ``__op`` suffixes; no suffix is equality.
OPERATORS = ("gt", "gte", "lt", "lte", "in", "contains")
#: Most values one ``__in`` filter takes.
IN_MAX = 100
#: Longest text a ``__contains`` filter looks for.
CONTAINS_MAX = 200
_SAID = ", ".join(f"__{op}" for op in OPERATORS)


@dataclass(frozen=True)
class FieldFilter:
    """One condition on a declared field: ``op`` is ``eq`` or one of OPERATORS; ``value`` is
    the stored form (a tuple of them for ``in``; lower-case text for ``contains``)."""

    name: str
    spec: FieldSpec
    op: str
    value: Any

    @property
    def param(self) -> str:
        return f"data.{self.name}" + ("" if self.op == "eq" else f"__{self.op}")


def parse(params: Mapping[str, Any], specs: Mapping[str, FieldSpec], type_label: str
          ) -> tuple[FieldFilter, ...]:
    """The ``data.*`` parameters as filters; every bad one is named in one 400."""
    found, errors = [], {}
    for key in sorted(k for k in params if isinstance(k, str) and k.startswith("data.")):
        raw = params.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue  # an empty box on the filter form: no filter
        try:
            found.append(_one(key, str(raw), specs, type_label))
        except kinds.Bad as bad:
            errors[key] = str(bad)
    if errors:
        raise InvalidInput("Some filters cannot be used.", errors)
    return tuple(found)


def _one(key: str, raw: str, specs: Mapping[str, FieldSpec], type_label: str) -> FieldFilter:
    name, _, op = key.removeprefix("data.").partition("__")
    op = op or "eq"
    spec = field(name, specs, type_label)
    title = spec.title(name)
    if op not in OPERATORS and op != "eq":
        raise kinds.Bad(f"Unknown operator __{op}; use none (equals) or one of {_SAID}.")
    kind = columns.compared_as(spec)
    if op == "contains":
        if spec.type not in TEXTUAL:
            raise kinds.Bad(f"{title} is not text: __contains applies to text fields.")
        return FieldFilter(name, spec, op, raw.strip()[:CONTAINS_MAX].lower())
    if op in ("gt", "gte", "lt", "lte") and kind == "boolean":
        raise kinds.Bad(f"{title} is true or false: filter it with equals.")
    loose = spec.model_copy(update={"min": None, "max": None, "pattern": None, "max_length": None})
    if op == "in":
        parts = [p for p in (part.strip() for part in raw.split(",")) if p]
        if len(parts) > IN_MAX:
            raise kinds.Bad(f"{title}: give at most {IN_MAX} values to __in.")
        return FieldFilter(name, spec, op, tuple(_value(loose, p, title) for p in parts))
    return FieldFilter(name, spec, op, _value(loose, raw, title))


def field(name: str, specs: Mapping[str, FieldSpec], type_label: str) -> FieldSpec:
    """The declared, filterable field ``name`` (raises kinds.Bad saying why not)."""
    spec = specs.get(name)
    if spec is None:
        raise kinds.Bad(f"{type_label} has no field {name!r}.")
    if not spec.filterable:
        raise kinds.Bad(f"{spec.title(name)} is not a filterable field of {type_label}.")
    return spec


def _value(spec: FieldSpec, raw: str, title: str) -> Any:
    try:
        value = kinds.read(spec, raw, from_text=True)
    except kinds.Bad as bad:
        raise kinds.Bad(f"{title} {bad}") from None
    return value


def bind(dialect: str, spec: FieldSpec, value: Any) -> Any:
    """A stored value as the field's expression compares it (numbers: float on SQLite, an
    exact Decimal on PostgreSQL, whose expression is numeric)."""
    if value is None or columns.compared_as(spec) != "number":
        return value
    return Decimal(str(value)) if dialect == "postgresql" else float(value)


def condition(dialect: str, f: FieldFilter, indexed: bool = True) -> ColumnElement[bool]:
    """The filter as SQL; ``indexed=False`` writes the field so that no index serves it (the
    same values, through ``coalesce(x, x)``), for a walk in another order."""
    column = columns.expression(dialect, f.name, f.spec)
    if not indexed:
        column = func.coalesce(column, column)
    if f.op == "contains":
        return func.lower(column).like(f"%{_escaped(f.value)}%", escape="\\")
    if f.op == "in":
        return column.in_([bind(dialect, f.spec, v) for v in f.value])
    value = bind(dialect, f.spec, f.value)
    return {"eq": column == value, "gt": column > value, "gte": column >= value,
            "lt": column < value, "lte": column <= value}[f.op]


def estimated_matches(session: Session, entity_type: str, filters: tuple[FieldFilter, ...]
                      ) -> int | None:
    """About how many entities of the type pass ``filters`` (at most the fewest any one field's
    filters let through), by the statistics PostgreSQL keeps of each field's index
    (fields/columns.py); None when they cannot tell: SQLite, a field not analysed yet, or a
    ``__contains`` (no statistics say how often a text holds a word)."""
    if not filters or any(f.op == "contains" for f in filters):
        return None
    guesses = []
    for name in sorted({f.name for f in filters}):
        on_field = [f for f in filters if f.name == name]
        stats = columns.statistics(session, entity_type, name, on_field[0].spec)
        if stats is None:
            return None
        guesses.append(round(stats.rows * _share(stats, on_field)))
    return min(guesses)


def _share(stats: columns.Statistics, filters: list[FieldFilter]) -> float:
    """The share of the type's rows whose value passes every filter (all on one field): the
    common values' own shares, plus the rest's, read as PostgreSQL's planner reads them (an
    even spread over the buckets between the bounds, or over the uncommon distinct values)."""
    tests = [_test(f) for f in filters]

    def passes(value: Any) -> bool:
        return value is not None and all(test(value) for test in tests)
    common = sum(share for value, share in stats.common if passes(value))
    rest = max(0.0, 1.0 - stats.null_share - sum(share for _, share in stats.common))
    listed = [f for f in filters if f.op in ("eq", "in")]
    if listed:
        said = {v for f in listed for v in _values(f)}
        uncommon = said - {value for value, _ in stats.common}
        spread = max(1.0, stats.distinct - len(stats.common))
        return common + rest * min(1.0, sum(passes(v) for v in uncommon) / spread)
    return common + rest * _bucket_share(stats.bounds, passes, filters)


def _test(f: FieldFilter) -> Any:
    """``f`` as a test on one value in the expression's form."""
    if f.op == "in":
        values = set(_values(f))
        return lambda v: v in values
    want = bind("postgresql", f.spec, f.value)
    return {"eq": lambda v: v == want, "gt": lambda v: v > want, "gte": lambda v: v >= want,
            "lt": lambda v: v < want, "lte": lambda v: v <= want}[f.op]


def _values(f: FieldFilter) -> list[Any]:
    return [bind("postgresql", f.spec, v) for v in (f.value if f.op == "in" else (f.value,))]


def _bucket_share(bounds: tuple[Any, ...], passes: Any, filters: list[FieldFilter]) -> float:
    """The share of the buckets between ``bounds`` (equally filled) within the filters' range:
    for numbers the part of each bucket inside it, for text whole buckets inside, none
    outside and half of one cut by an end. No buckets (every value is a common one): half,
    which matters little."""
    if len(bounds) < 2:
        return 0.5
    ends = [bind("postgresql", f.spec, f.value) for f in filters]
    low = max((v for f, v in zip(filters, ends) if f.op in ("gt", "gte")), default=None)
    high = min((v for f, v in zip(filters, ends) if f.op in ("lt", "lte")), default=None)
    filled = 0.0
    for start, end in itertools.pairwise(bounds):
        if start == end:
            filled += passes(start)
        elif (low is not None and end <= low) or (high is not None and start >= high):
            continue
        elif isinstance(start, Decimal):
            top = end if high is None else min(end, high)
            bottom = start if low is None else max(start, low)
            filled += float((top - bottom) / (end - start))
        else:
            filled += 1.0 if (low is None or start >= low) and (high is None or end <= high) else 0.5
    return filled / (len(bounds) - 1)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def after(column: ColumnElement[Any], entity_id: ColumnElement[int], descending: bool,
          value: Any, row_id: int) -> ColumnElement[bool]:
    """Rows strictly after (value, row_id) in a sort on a field, where a missing value sorts
    before every value (SQLite's order; PostgreSQL is told NULLS FIRST/LAST to agree)."""
    if value is None:
        if descending:
            return and_(column.is_(None), entity_id < row_id)
        return or_(and_(column.is_(None), entity_id > row_id), column.is_not(None))
    if descending:
        return or_(and_(column <= value, or_(column < value, entity_id < row_id)),
                   column.is_(None))
    return and_(column >= value, or_(column > value, entity_id > row_id))

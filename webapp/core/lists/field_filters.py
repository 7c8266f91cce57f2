"""Filters and sorts on a type's declared fields (CONTRACT §7): ``data.price__gte=300000``,
``data.priority__in=HIGH,CRITICAL``, ``sort=-data.price``.

A filter names a ``filterable`` field of the listed type and an operator; its value is read as
the field reads a form's text (core/fields/kinds.py), so ``data.listed_on__gte=2025-1-1`` gets
the field's own message, but not held to the field's bounds (``bedrooms__lt=100`` is a fair
question about a field of 0-50). Any other field, an unknown operator or a bad value is a 400
naming the parameter. The SQL is fields/columns.py's expression, the one its index is built on.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_
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

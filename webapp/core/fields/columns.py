"""Where a declared field's value sits in the database, as SQL, and the index over it.

A list filters and sorts on ``filterable`` fields (CONTRACT §7). The value lives inside the
entity's ``data`` JSON, so a filter is a condition on an expression, and an index can only serve
it when the index was built over the very same expression: SQLite matches an indexed expression
by its tree, PostgreSQL by its analysed form, and both take a partial index (``WHERE type = 'x'``)
only when the query says that literally. So this module is the one source of that text: the
list query (core/lists/listing.py) and the index (``sync``) both read ``sql``.

Values are compared by the field's kind: numbers as numbers (a decimal is stored as a string,
``"12.50"``), booleans as booleans, everything else as text, which sorts ISO dates and times in
time order. On PostgreSQL a number is read only when it looks like one, so an entity stored
before its type declared the field (``"price": "n/a"``) is simply not matched instead of
failing the query; SQLite's CAST never fails.

One index per (type, filterable field): ``(expression, id) WHERE type = '<type>'``, so a page
of one type filtered or sorted by the field walks the index in order and stops after 50 rows,
and entities of other types pay nothing for it on write. Indexes are named by a digest of their
definition: changing a field's kind builds the new index and drops the old one. ``sync`` makes
the database hold exactly the indexes the stored workflows ask for (``CREATE INDEX IF NOT
EXISTS``, ``DROP INDEX IF EXISTS``), so running it twice, or after a crash, is harmless.

On PostgreSQL the index also holds what the list needs to choose its walk: ANALYZE keeps
statistics of an expression index's values (here, of the type's rows only), which the planner
never reads for a partial index (it guessed a third of the rows for any ``>``, 0.5 % for a
range). ``statistics`` reads them, and lists/listing.py asks them how many entities a field
filter matches instead of counting along the index (up to 400 ms for a wide range).
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Float, Numeric, String, literal_column, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, TextClause

from webapp.core.fields.spec import NAME, FieldSpec

INDEX_PREFIX = "ix_field_"
#: Kinds compared as numbers (a reference is an entity id).
_NUMBERS = frozenset({"integer", "decimal", "reference"})
#: What PostgreSQL reads as a number (a plain decimal, as kinds.py stores them).
_PG_NUMBER = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$"


def compared_as(spec: FieldSpec) -> str:
    """``number``, ``boolean`` or ``text``: how the field's values compare and sort."""
    if spec.type in _NUMBERS:
        return "number"
    return "boolean" if spec.type == "boolean" else "text"


def sql(dialect: str, name: str, spec: FieldSpec, table: str = "") -> str:
    """The expression's SQL; ``table`` qualifies the column (``entities.``) in a query."""
    if not NAME.match(name):  # names are checked where declared; never put other text in SQL
        raise ValueError(f"not a field name: {name!r}")
    data = f"{table}data"
    kind = compared_as(spec)
    if dialect == "postgresql":
        value = f"({data} ->> '{name}')"
        if kind == "number":
            return f"(CASE WHEN {value} ~ '{_PG_NUMBER}' THEN {value}::numeric END)"
        if kind == "boolean":
            return f"(CASE WHEN {value} IN ('true', 'false') THEN {value}::boolean END)"
        return value
    value = f"json_extract({data}, '$.{name}')"
    return f"CAST({value} AS REAL)" if kind == "number" else value


def expression(dialect: str, name: str, spec: FieldSpec) -> ColumnElement[Any]:
    """The field's value in a query over ``entities``."""
    kind = compared_as(spec)
    type_: Any = {"number": Numeric() if dialect == "postgresql" else Float(),
                  "boolean": Boolean(), "text": String()}[kind]
    return literal_column(sql(dialect, name, spec, "entities."), type_=type_)


def type_literal(dialect: str, entity_type: str) -> TextClause:
    """``entities.type = '<type>'`` with the type written into the SQL, as a field index's
    WHERE is: a bound parameter would not prove the partial index applies (SQLite plans before
    binding; PostgreSQL's generic plans for prepared statements do not either). On SQLite it is
    wrapped in ``likely()``: without statistics SQLite would otherwise walk the (type, ...)
    indexes through every entity of the type (65 ms for a page of 100,000 properties sorted by
    price) instead of the field's index (0.05 ms); ``likely`` still proves the partial index."""
    if not NAME.match(entity_type):
        raise ValueError(f"not a type name: {entity_type!r}")
    said = f"entities.type = '{entity_type}'"
    # text(), not a Boolean column: SQLite would be sent "likely(...) = 1", which proves nothing.
    return text(f"likely({said})" if dialect == "sqlite" else said)


def wanted(dialect: str, fields_by_type: Mapping[str, Mapping[str, FieldSpec]]) -> dict[str, str]:
    """Index name -> CREATE INDEX statement, for every filterable field of every type."""
    found = {}
    for entity_type, specs in fields_by_type.items():
        for name, spec in specs.items():
            if spec.filterable:
                index, body = _index(dialect, entity_type, name, spec)
                found[index] = f"CREATE INDEX IF NOT EXISTS {index} {body}"
    return found


def _index(dialect: str, entity_type: str, name: str, spec: FieldSpec) -> tuple[str, str]:
    """(name, definition after CREATE INDEX name) of the field's index."""
    # NULLS FIRST on PostgreSQL: a missing value sorts first, as SQLite always does.
    nulls = " NULLS FIRST" if dialect == "postgresql" else ""
    body = f"ON entities ({sql(dialect, name, spec)}{nulls}, id) WHERE type = '{entity_type}'"
    digest = hashlib.sha1(body.encode()).hexdigest()[:12]
    return f"{INDEX_PREFIX}{entity_type[:20]}_{name[:20]}_{digest}", body


def existing(session: Session) -> set[str]:
    """Names of the field indexes the database holds now."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = text("SELECT indexname FROM pg_indexes WHERE tablename = 'entities' "
                    "AND indexname LIKE :prefix")
    else:
        stmt = text("SELECT name FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'entities' AND name LIKE :prefix")
    return {name for name in session.scalars(stmt, {"prefix": INDEX_PREFIX + "%"})
            if name.startswith(INDEX_PREFIX)}


def sync(session: Session, fields_by_type: Mapping[str, Mapping[str, FieldSpec]]
         ) -> tuple[list[str], list[str]]:
    """Create the missing field indexes and drop those no field asks for; (created, dropped).
    On PostgreSQL, ANALYZE after creating any: the list reads a new index's statistics
    (``statistics``) at once rather than after autovacuum's next visit, which a table that
    changes little may not get for days.

    Runs in the caller's transaction, so a workflow save and its indexes commit together."""
    dialect = session.get_bind().dialect.name
    want, have = wanted(dialect, fields_by_type), existing(session)
    created = sorted(set(want) - have)
    dropped = sorted(have - set(want))
    for index in created:
        session.execute(text(want[index]))
    for index in dropped:
        session.execute(text(f"DROP INDEX IF EXISTS {index}"))
    if created and dialect == "postgresql":
        session.execute(text("ANALYZE entities"))
        _seen.clear()
    return created, dropped


@dataclass(frozen=True)
class Statistics:
    """What PostgreSQL's last ANALYZE saw of one type's field, read off its partial index, so
    of that type's rows only; values as the field's expression compares them."""

    #: The type's rows (the index's entries).
    rows: float
    #: Share of them without a value.
    null_share: float
    #: How many distinct values there are.
    distinct: float
    #: The most common values with their shares of ``rows``.
    common: tuple[tuple[Any, float], ...]
    #: Bounds of equally filled buckets holding the other values, in order.
    bounds: tuple[Any, ...]


#: How long a process keeps a field's statistics: ANALYZE changes them, at most about once a
#: minute (autovacuum's nap), and reading them costs 1-5 ms (the pg_stats view, its casts).
STATISTICS_SECONDS = 60.0
_seen: dict[tuple[str, str], tuple[float, Statistics | None]] = {}


def statistics(session: Session, entity_type: str, name: str, spec: FieldSpec
               ) -> Statistics | None:
    """The field's statistics on PostgreSQL, kept STATISTICS_SECONDS; None on SQLite, or
    before its index was analysed (or when the database lets this user see none)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    index, _ = _index("postgresql", entity_type, name, spec)
    key = (str(session.get_bind().url), index)
    at, known = _seen.get(key, (float("-inf"), None))
    if time.monotonic() - at < STATISTICS_SECONDS:
        return known
    if len(_seen) > 10_000:  # many databases in one process (tests): forget the old ones
        _seen.clear()
    known = _read_statistics(session, index, compared_as(spec))
    _seen[key] = (time.monotonic(), known)
    return known


def _read_statistics(session: Session, index: str, kind: str) -> Statistics | None:
    cast = {"number": "numeric", "boolean": "boolean", "text": "text"}[kind]
    # pg_stats names an index's expression column by its function ("case", "expr"); the
    # index has one, so one row. Plain filters on the view: a join to it took 14 ms to plan.
    row = session.execute(text(
        f"SELECT (SELECT reltuples FROM pg_class WHERE oid = to_regclass(:index)), null_frac,"
        f" n_distinct, most_common_vals::text::{cast}[], most_common_freqs,"
        f" histogram_bounds::text::{cast}[]"
        " FROM pg_stats WHERE schemaname = current_schema() AND tablename = :index"),
        {"index": index}).first()
    if row is None or row[0] is None:
        return None
    rows = max(float(row[0]), 0.0)
    distinct = float(row[2]) if row[2] >= 0 else -float(row[2]) * rows
    return Statistics(rows, float(row[1]), distinct, tuple(zip(row[3] or (), row[4] or ())),
                      tuple(row[5] or ()))

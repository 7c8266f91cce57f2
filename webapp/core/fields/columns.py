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
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
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
            if not spec.filterable:
                continue
            # NULLS FIRST on PostgreSQL: a missing value sorts first, as SQLite always does.
            nulls = " NULLS FIRST" if dialect == "postgresql" else ""
            body = (f"ON entities ({sql(dialect, name, spec)}{nulls}, id) "
                    f"WHERE type = '{entity_type}'")
            digest = hashlib.sha1(body.encode()).hexdigest()[:12]
            index = f"{INDEX_PREFIX}{entity_type[:20]}_{name[:20]}_{digest}"
            found[index] = f"CREATE INDEX IF NOT EXISTS {index} {body}"
    return found


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

    Runs in the caller's transaction, so a workflow save and its indexes commit together."""
    dialect = session.get_bind().dialect.name
    want, have = wanted(dialect, fields_by_type), existing(session)
    created = sorted(set(want) - have)
    dropped = sorted(have - set(want))
    for index in created:
        session.execute(text(want[index]))
    for index in dropped:
        session.execute(text(f"DROP INDEX IF EXISTS {index}"))
    return created, dropped

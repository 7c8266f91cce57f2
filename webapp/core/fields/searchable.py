"""``searchable`` fields in the search index (CONTRACT §7: ``q`` also matches them).

The search indexes hold each entity's name and then the values of its type's searchable
fields, as one text: the FTS5 table reads it through the view ``entity_search_source`` on
SQLite, and ``entity_search_words()`` splits it for entity_words on PostgreSQL (migration
0020 defines both, and the triggers that keep them on every insert and every change of name,
type or data). Which fields are searchable is the table ``searchable_fields``, kept here by
``sync`` on every workflow save (beside the per-field indexes): a type whose searchable
fields change has its entries taken out under the old fields and put back under the new ones,
in the saving transaction. Sensitive fields are never searchable (the field schema refuses it),
so no plaintext reaches an index.

Typo correction reads a vocabulary of indexed words: PostgreSQL's trigger adds to it; on
SQLite the writers add the words of what they write (``values``, ``written_values``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from webapp.core.base.searchwords import add_words
from webapp.core.fields.spec import NAME, FieldSpec

_CHUNK = 10_000


def names(fields: Mapping[str, FieldSpec]) -> list[str]:
    """The searchable fields among these, in declared order."""
    return [name for name, spec in fields.items() if spec.searchable and not spec.sensitive]


def values(fields: Mapping[str, FieldSpec], data: Mapping[str, Any] | None) -> list[str]:
    """The searchable values of one entity's data, as the index reads them."""
    data = data or {}
    return [str(data[name]) for name in names(fields) if data.get(name) not in (None, "")]


def written_values(session: Session, written: Iterable[tuple[str, Mapping[str, Any] | None]]
                   ) -> list[str]:
    """The searchable values of data just written, ``(type, data)`` pairs, as the stored
    table of searchable fields says (a writer has no workflow at hand)."""
    written = [(t, d) for t, d in written if d]
    if not written:
        return []
    by_type: dict[str, list[str]] = {}
    for type_, field in session.execute(
            text("SELECT type, field FROM searchable_fields WHERE type IN :types ORDER BY field")
            .bindparams(bindparam("types", expanding=True)),
            {"types": sorted({t for t, _ in written})}):
        by_type.setdefault(type_, []).append(field)
    return [str(d[f]) for t, d in written for f in by_type.get(t, ())
            if d.get(f) not in (None, "")]


def add_vocabulary(session: Session, written: Iterable[tuple[str, Mapping[str, Any] | None]]
                   ) -> None:
    """On SQLite, add the words of these written values to the vocabulary (PostgreSQL's
    trigger does it there)."""
    if session.get_bind().dialect.name == "sqlite":
        add_words(session, written_values(session, written))


def sync(session: Session, fields_by_type: Mapping[str, Mapping[str, FieldSpec]]) -> list[str]:
    """Make ``searchable_fields`` say what the workflows declare and re-index the types whose
    searchable fields changed; the types re-indexed."""
    want = {(t, name) for t, fields in fields_by_type.items() for name in names(fields)}
    have = {(t, f) for t, f in session.execute(text("SELECT type, field FROM searchable_fields"))}
    changed = sorted({t for t, _ in want ^ have})
    for type_ in changed:
        _reindex(session, type_, sorted(f for t, f in want if t == type_))
    return changed


def _indexed(session: Session) -> bool:
    """Whether the search indexes are there (a schema made by the migrations; tables made
    from the models alone, as the core's tests make them, have none to keep)."""
    if session.get_bind().dialect.name == "sqlite":
        return session.scalar(text("SELECT count(*) FROM sqlite_master "
                                   "WHERE name = 'entity_search_source'")) == 1
    return session.scalar(text(
        "SELECT to_regprocedure('entity_search_words(text, text, jsonb)') IS NOT NULL")) is True


def _reindex(session: Session, type_: str, fields: Sequence[str]) -> None:
    if not _indexed(session):
        _set_fields(session, type_, fields)
    elif session.get_bind().dialect.name == "sqlite":
        # An external-content FTS5 table is told exactly what it indexed, to take it out.
        for_type = "SELECT {} id, name, type FROM entity_search_source WHERE type = :t"
        session.execute(text("INSERT INTO entity_search(entity_search, rowid, name, type) "
                             + for_type.format("'delete',")), {"t": type_})
        _set_fields(session, type_, fields)
        session.execute(text("INSERT INTO entity_search(rowid, name, type) "
                             + for_type.format("")), {"t": type_})
        _add_type_vocabulary(session, type_, fields)
    else:
        _set_fields(session, type_, fields)
        words = "FROM entities e, entity_search_words(e.name, e.type, e.data) w WHERE e.type = :t"
        session.execute(text("DELETE FROM entity_words WHERE type = :t"), {"t": type_})
        session.execute(text(f"INSERT INTO entity_words (word, type, entity_id) "
                             f"SELECT w, e.type, e.id {words} ON CONFLICT DO NOTHING"), {"t": type_})
        session.execute(text(f"INSERT INTO search_words (word) SELECT DISTINCT w {words} "
                             f"ON CONFLICT DO NOTHING"), {"t": type_})


def _set_fields(session: Session, type_: str, fields: Sequence[str]) -> None:
    session.execute(text("DELETE FROM searchable_fields WHERE type = :t"), {"t": type_})
    if fields:
        session.execute(text("INSERT INTO searchable_fields (type, field) VALUES (:t, :f)"),
                        [{"t": type_, "f": f} for f in fields])


def _add_type_vocabulary(session: Session, type_: str, fields: Sequence[str]) -> None:
    """The words of every value of the type's searchable fields, read in id chunks."""
    if not fields:
        return
    after = 0
    extract = ", ".join(f"json_extract(data, '$.{f}')" for f in fields if NAME.match(f))
    while True:
        rows = session.execute(text(
            f"SELECT id, {extract} FROM entities WHERE type = :t AND id > :after "
            f"ORDER BY id LIMIT {_CHUNK}"), {"t": type_, "after": after}).all()
        if not rows:
            return
        add_words(session, [str(v) for row in rows for v in row[1:] if v not in (None, "")])
        after = rows[-1][0]

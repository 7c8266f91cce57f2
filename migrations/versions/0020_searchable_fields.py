"""searchable fields in the search index: ``q`` also matches them (CONTRACT §7, issue 15)

- searchable_fields (type, field): which fields of each type the indexes hold, kept by every
  workflow save (webapp/core/fields/searchable.py), filled here from the stored workflows.
- SQLite: the view entity_search_source, which the FTS5 table reads, gives each entity's folded
  name followed by its searchable values (one text in the ``name`` column); the triggers index
  the same text and now also follow changes of ``data``; the table is rebuilt (as 0013 did).
- PostgreSQL: entity_search_text(name, type, data) is that text and entity_search_words(…) its
  words as entity_words holds them; entity_words_sync() reads them and also follows changes of
  ``data`` (an update whose text is unchanged costs one comparison); the types with searchable
  fields have their entries rewritten.
- Both: the words of the values join the typo-correction vocabulary (search_words).

Revision ID: 0020
Revises: 0019
"""
from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

#: webapp/core/base/searchwords.FOLDED at this revision.
FOLDED = "-\u2010\u2011'\u2019\u02bc."
_QUOTED = "'" + FOLDED.replace("'", "''") + "'"
_LONG_ENOUGH = "length(w) >= 3 AND length(w) <= 200"
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _sqlite_fold(expr: str) -> str:
    for char in FOLDED:
        expr = f"replace({expr}, '{char.replace(chr(39), chr(39) * 2)}', '')"
    return expr


def _sqlite_values(row: str) -> str:
    """A row's searchable values (``entities``, ``old``, ``new``), in field order."""
    return (f"(SELECT group_concat(json_extract({row}.data, '$.' || s.field), ' ') "
            f"FROM searchable_fields s WHERE s.type = {row}.type)")


def _sqlite_text(row: str) -> str:
    """The indexed text of a row: its name, then its searchable values, folded."""
    return _sqlite_fold(f"{row}.name || coalesce(' ' || {_sqlite_values(row)}, '')")


def _sqlite(with_fields: bool) -> list[str]:
    text = _sqlite_text if with_fields else (lambda row: _sqlite_fold(f"{row}.name"))
    delete = ("INSERT INTO entity_search(entity_search, rowid, name, type) "
              f"VALUES ('delete', old.id, {text('old')}, old.type); ")
    insert = f"INSERT INTO entity_search(rowid, name, type) VALUES (new.id, {text('new')}, new.type); "
    if with_fields:
        # A data change re-indexes only when a searchable value changed (two lookups of a
        # small table and a json_extract per searchable field, where re-indexing costs two
        # FTS5 writes).
        update = ("AFTER UPDATE OF name, type, data ON entities WHEN old.name IS NOT new.name "
                  f"OR old.type IS NOT new.type OR {_sqlite_values('old')} IS NOT "
                  f"{_sqlite_values('new')}")
    else:
        update = "AFTER UPDATE OF name, type ON entities"
    return [
        "DROP TRIGGER IF EXISTS entities_search_au",
        "DROP TRIGGER IF EXISTS entities_search_ad",
        "DROP TRIGGER IF EXISTS entities_search_ai",
        "DROP TABLE IF EXISTS entity_search",
        "DROP VIEW IF EXISTS entity_search_source",
        f"CREATE VIEW entity_search_source AS SELECT id, {text('entities')} AS name, type "
        "FROM entities",
        "CREATE VIRTUAL TABLE entity_search USING fts5(name, type, content='entity_search_source', "
        "content_rowid='id', tokenize='trigram')",
        "INSERT INTO entity_search(entity_search) VALUES ('rebuild')",
        f"CREATE TRIGGER entities_search_ai AFTER INSERT ON entities BEGIN {insert}END",
        f"CREATE TRIGGER entities_search_ad AFTER DELETE ON entities BEGIN {delete}END",
        f"CREATE TRIGGER entities_search_au {update} BEGIN {delete}{insert}END",
    ]


def _pg_split(expr: str) -> str:
    return rf"regexp_split_to_table(lower(translate({expr}, {_QUOTED}, '')), '\W+')"


PG_UP = [
    "CREATE FUNCTION entity_search_text(p_name text, p_type text, p_data jsonb) RETURNS text "
    "LANGUAGE sql STABLE AS $$ SELECT p_name || coalesce(' ' || (SELECT string_agg("
    "p_data ->> s.field, ' ' ORDER BY s.field) FROM searchable_fields s WHERE s.type = p_type), "
    "'') $$",
    "CREATE FUNCTION entity_search_words(p_name text, p_type text, p_data jsonb) RETURNS "
    "SETOF text LANGUAGE sql STABLE AS $$ SELECT DISTINCT w FROM "
    f"{_pg_split('entity_search_text(p_name, p_type, p_data)')} AS w WHERE {_LONG_ENOUGH} $$",
    "CREATE OR REPLACE FUNCTION entity_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' THEN "
    "IF OLD.name IS NOT DISTINCT FROM NEW.name AND OLD.type IS NOT DISTINCT FROM NEW.type AND "
    "entity_search_text(OLD.name, OLD.type, OLD.data) IS NOT DISTINCT FROM "
    "entity_search_text(NEW.name, NEW.type, NEW.data) THEN RETURN NULL; END IF; "
    "DELETE FROM entity_words WHERE entity_id = OLD.id; END IF; "
    "INSERT INTO entity_words (word, type, entity_id) "
    "SELECT w, NEW.type, NEW.id FROM entity_search_words(NEW.name, NEW.type, NEW.data) AS w "
    "ON CONFLICT DO NOTHING; "
    "INSERT INTO search_words (word) "
    "SELECT w FROM entity_search_words(NEW.name, NEW.type, NEW.data) AS w ON CONFLICT DO NOTHING; "
    "RETURN NULL; "
    "END $$",
    "DROP TRIGGER entities_words_au ON entities",
    "CREATE TRIGGER entities_words_au AFTER UPDATE OF name, type, data ON entities FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.type IS DISTINCT FROM NEW.type "
    "OR OLD.data IS DISTINCT FROM NEW.data) EXECUTE FUNCTION entity_words_sync()",
]
_PG_NAME_WORDS = _pg_split("NEW.name")
PG_DOWN = [
    "CREATE OR REPLACE FUNCTION entity_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' THEN DELETE FROM entity_words WHERE entity_id = OLD.id; END IF; "
    "INSERT INTO entity_words (word, type, entity_id) "
    f"SELECT DISTINCT w, NEW.type, NEW.id FROM {_PG_NAME_WORDS} AS w WHERE {_LONG_ENOUGH} "
    "ON CONFLICT DO NOTHING; "
    "INSERT INTO search_words (word) "
    f"SELECT DISTINCT w FROM {_PG_NAME_WORDS} AS w WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
    "RETURN NULL; "
    "END $$",
    "DROP TRIGGER entities_words_au ON entities",
    "CREATE TRIGGER entities_words_au AFTER UPDATE OF name, type ON entities FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.type IS DISTINCT FROM NEW.type) "
    "EXECUTE FUNCTION entity_words_sync()",
]


def _stored_searchable() -> list[dict[str, str]]:
    """(type, field) of every searchable, non-sensitive field of the stored workflows."""
    rows = op.get_bind().execute(sa.text(
        "SELECT entity_type, definition FROM workflow_definitions")).all()
    found = []
    for type_, definition in rows:
        doc = json.loads(definition) if isinstance(definition, str) else definition
        for name, spec in sorted(((doc or {}).get("fields") or {}).items()):
            if (isinstance(spec, dict) and spec.get("searchable") and not spec.get("sensitive")
                    and _FIELD.match(name)):
                found.append({"type": type_, "field": name})
    return found


def _rewrite_pg_words(types: list[str]) -> None:
    bind = op.get_bind()
    for type_ in types:
        bind.execute(sa.text("DELETE FROM entity_words WHERE type = :t"), {"t": type_})
        bind.execute(sa.text(
            "INSERT INTO entity_words (word, type, entity_id) SELECT w, e.type, e.id "
            "FROM entities e, entity_search_words(e.name, e.type, e.data) w WHERE e.type = :t "
            "ON CONFLICT DO NOTHING"), {"t": type_})
        bind.execute(sa.text(
            "INSERT INTO search_words (word) SELECT DISTINCT w FROM entities e, "
            "entity_search_words(e.name, e.type, e.data) w WHERE e.type = :t "
            "ON CONFLICT DO NOTHING"), {"t": type_})


def _sqlite_vocabulary(pairs: list[dict[str, str]]) -> None:
    bind = op.get_bind()
    fold = str.maketrans("", "", FOLDED)
    found: set[str] = set()
    for pair in pairs:
        values = bind.execute(sa.text(
            f"SELECT json_extract(data, '$.{pair['field']}') FROM entities WHERE type = :t"),
            {"t": pair["type"]}).scalars()
        found.update(w for v in values if v not in (None, "")
                     for w in re.findall(r"\w+", str(v).translate(fold).lower())
                     if 3 <= len(w) <= 200)
    if found:
        bind.execute(sa.text("INSERT OR IGNORE INTO search_words (word) VALUES (:w)"),
                     [{"w": w} for w in sorted(found)])


def upgrade():
    op.create_table(
        "searchable_fields",
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("field", sa.String(63), nullable=False),
        sa.PrimaryKeyConstraint("type", "field", name="pk_searchable_fields"),
    )
    pairs = _stored_searchable()
    if pairs:
        op.bulk_insert(sa.table("searchable_fields", sa.column("type"), sa.column("field")), pairs)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _sqlite(with_fields=True):
            op.execute(statement)
        _sqlite_vocabulary(pairs)
    elif dialect == "postgresql":
        for statement in PG_UP:
            op.execute(statement)
        _rewrite_pg_words(sorted({p["type"] for p in pairs}))


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _sqlite(with_fields=False):
            op.execute(statement)
    elif dialect == "postgresql":
        types = [t for (t,) in op.get_bind().execute(sa.text(
            "SELECT DISTINCT type FROM searchable_fields"))]
        op.execute("DELETE FROM searchable_fields")
        _rewrite_pg_words(types)  # the names' words only, as the fields are gone
        for statement in PG_DOWN:
            op.execute(statement)
        op.execute("DROP FUNCTION entity_search_words(text, text, jsonb)")
        op.execute("DROP FUNCTION entity_search_text(text, text, jsonb)")
    op.drop_table("searchable_fields")

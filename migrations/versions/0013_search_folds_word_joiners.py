"""search folds the characters that join a word's parts: "wifi" finds "Wi-Fi" (issue 19)

Hyphens, apostrophes and full stops inside a name ("Wi-Fi", "O'Brien", "St.Mary") split it
into pieces too short to search ("wi", "fi"), so "wifi" found nothing while "Wi-Fi" found 21.
Names and queries are now folded alike before they are split (webapp/core/lists/search.py,
FOLDED; the characters are spelt out again here, as that revision had them):
- SQLite: the FTS5 table indexes the folded name, read through the view entity_search_source
  (an external-content table may read a view); rebuilt, as 0008 rebuilt it (40 s for 1,000,000).
- PostgreSQL: entity_words_sync() splits the folded name; the entries of names that fold
  differently are rewritten (the others are the same words); the trigram index on the name is
  on the folded name, the expression search.name_filter uses.
- Both: the folded words of such names join the typo-correction vocabulary (search_words).

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: webapp/core/lists/search.FOLDED at this revision.
FOLDED = "-\u2010\u2011'\u2019\u02bc."
_QUOTED = "'" + FOLDED.replace("'", "''") + "'"
_LONG_ENOUGH = "length(w) >= 3 AND length(w) <= 200"


def _sqlite_fold(expr: str) -> str:
    for char in FOLDED:
        expr = f"replace({expr}, '{char.replace(chr(39), chr(39) * 2)}', '')"
    return expr


def _sqlite_search(folded: bool) -> list[str]:
    """The FTS5 table over (name, type), of the folded names or (0008) the names, refilled,
    and the triggers that keep it (an external-content table is told the old values to delete)."""
    name = _sqlite_fold if folded else (lambda expr: expr)
    content = "entity_search_source" if folded else "entities"
    delete = ("INSERT INTO entity_search(entity_search, rowid, name, type) "
              f"VALUES ('delete', old.id, {name('old.name')}, old.type); ")
    insert = f"INSERT INTO entity_search(rowid, name, type) VALUES (new.id, {name('new.name')}, new.type); "
    view = [f"CREATE VIEW entity_search_source AS SELECT id, {name('name')} AS name, type "
            "FROM entities"] if folded else []
    return [
        "DROP TRIGGER IF EXISTS entities_search_au",
        "DROP TRIGGER IF EXISTS entities_search_ad",
        "DROP TRIGGER IF EXISTS entities_search_ai",
        "DROP TABLE IF EXISTS entity_search",
        "DROP VIEW IF EXISTS entity_search_source",
        *view,
        f"CREATE VIRTUAL TABLE entity_search USING fts5(name, type, content='{content}', "
        "content_rowid='id', tokenize='trigram')",
        "INSERT INTO entity_search(entity_search) VALUES ('rebuild')",
        f"CREATE TRIGGER entities_search_ai AFTER INSERT ON entities BEGIN {insert}END",
        f"CREATE TRIGGER entities_search_ad AFTER DELETE ON entities BEGIN {delete}END",
        "CREATE TRIGGER entities_search_au AFTER UPDATE OF name, type ON entities BEGIN "
        f"{delete}{insert}END",
    ]


def _pg_words(name: str, folded: bool) -> str:
    inner = f"translate({name}, {_QUOTED}, '')" if folded else name
    return rf"regexp_split_to_table(lower({inner}), '\W+')"


def _pg(folded: bool) -> list[str]:
    """entity_words_sync() (0008's, with or without folding), the entries of the names that
    fold differently rewritten, and the trigram index on the name as search.name_filter reads it."""
    words = _pg_words("NEW.name", folded)
    index_on = f"translate(lower(name), {_QUOTED}, '')" if folded else "lower(name)"
    return [
        "CREATE OR REPLACE FUNCTION entity_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'UPDATE' THEN DELETE FROM entity_words WHERE entity_id = OLD.id; END IF; "
        "INSERT INTO entity_words (word, type, entity_id) "
        f"SELECT DISTINCT w, NEW.type, NEW.id FROM {words} AS w WHERE {_LONG_ENOUGH} "
        "ON CONFLICT DO NOTHING; "
        "INSERT INTO search_words (word) "
        f"SELECT DISTINCT w FROM {words} AS w WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
        "RETURN NULL; "
        "END $$",
        "CREATE TEMPORARY TABLE folding_names AS "
        f"SELECT id, type, name FROM entities WHERE name <> translate(name, {_QUOTED}, '')",
        "DELETE FROM entity_words WHERE entity_id IN (SELECT id FROM folding_names)",
        "INSERT INTO entity_words (word, type, entity_id) "
        f"SELECT DISTINCT w, f.type, f.id FROM folding_names f, {_pg_words('f.name', folded)} AS w "
        f"WHERE {_LONG_ENOUGH}",
        "INSERT INTO search_words (word) "
        f"SELECT DISTINCT w FROM folding_names f, {_pg_words('f.name', folded)} AS w "
        f"WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING",
        "DROP TABLE folding_names",
        "DROP INDEX IF EXISTS ix_entities_name_trgm",
        f"CREATE INDEX ix_entities_name_trgm ON entities USING gin (({index_on}) gin_trgm_ops)",
    ]


def _sqlite_vocabulary() -> None:
    """The folded words of names with a joining character, as search.words() makes them."""
    bind = op.get_bind()
    fold = str.maketrans("", "", FOLDED)
    names = bind.execute(sa.text(
        f"SELECT name FROM entities WHERE name <> {_sqlite_fold('name')}")).scalars()
    found = {w for n in names for w in re.findall(r"\w+", n.translate(fold).lower())
             if 3 <= len(w) <= 200}
    if found:
        bind.execute(sa.text("INSERT OR IGNORE INTO search_words (word) VALUES (:w)"),
                     [{"w": w} for w in sorted(found)])


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _sqlite_search(folded=True):
            op.execute(statement)
        _sqlite_vocabulary()
    elif dialect == "postgresql":
        for statement in _pg(folded=True):
            op.execute(statement)


def downgrade():
    # The folded words stay in search_words, as words of renamed entities always have: a
    # correction to a word no name holds is taken only when no correction finds anything.
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _sqlite_search(folded=False):
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in _pg(folded=False):
            op.execute(statement)

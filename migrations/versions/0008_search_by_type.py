"""search indexes by entity type, for searches within one type (the entity list's)

The entity list always lists one type, so its search checked each match's type one entity
at a time, reading every match of the other types first: at 1,000,000 entities "hvac filter"
among work orders 18 ms on PostgreSQL, "building" among properties (none) 110 ms on SQLite.
Now the indexes know the type (BENCHMARKS.md, Search):

- PostgreSQL: entity_words keeps each entity's type beside its words, and an index on
  (type, word, entity_id) walks one type's entries of a word newest first. The table is
  rebuilt from the names as 0006 built it: 148 s for 1,000,000 entities, with the VACUUM.
- SQLite: the FTS5 table also indexes the type column (trigrams, like the name), so a MATCH
  on the name's words AND the type intersects both in rowid order. Rebuilt from entities:
  40 s for 1,000,000 entities.

Types never change, but the triggers refresh an entity's entries if one ever did.

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: The words of a name as search.words() makes them: lower case, runs of word characters.
_WORDS = r"regexp_split_to_table(lower({name}), '\W+')"
_LONG_ENOUGH = "length(w) >= 3 AND length(w) <= 200"


def _sqlite_search(columns: str) -> list[str]:
    """The FTS5 table over these columns of entities (0002 made it over name), refilled, and
    the triggers that keep it (an external-content table is told the old values to delete)."""
    new = ", ".join(f"new.{c}" for c in columns.split(", "))
    old = ", ".join(f"old.{c}" for c in columns.split(", "))
    delete = f"INSERT INTO entity_search(entity_search, rowid, {columns}) VALUES ('delete', old.id, {old}); "
    insert = f"INSERT INTO entity_search(rowid, {columns}) VALUES (new.id, {new}); "
    return [
        "DROP TRIGGER IF EXISTS entities_search_au",
        "DROP TRIGGER IF EXISTS entities_search_ad",
        "DROP TRIGGER IF EXISTS entities_search_ai",
        "DROP TABLE IF EXISTS entity_search",
        f"CREATE VIRTUAL TABLE entity_search USING fts5({columns}, content='entities', "
        "content_rowid='id', tokenize='trigram')",
        "INSERT INTO entity_search(entity_search) VALUES ('rebuild')",
        f"CREATE TRIGGER entities_search_ai AFTER INSERT ON entities BEGIN {insert}END",
        f"CREATE TRIGGER entities_search_ad AFTER DELETE ON entities BEGIN {delete}END",
        f"CREATE TRIGGER entities_search_au AFTER UPDATE OF {columns} ON entities BEGIN "
        f"{delete}{insert}END",
    ]


SQLITE_UP = _sqlite_search("name, type")
SQLITE_DOWN = _sqlite_search("name")

def _pg_words(columns: str) -> list[str]:
    """entity_words_sync() filling these columns (0006: word, entity_id) and the trigger that
    refreshes an entity's words when the columns they come from change."""
    with_type = "type" in columns
    changed = "OLD.name IS DISTINCT FROM NEW.name" + (
        " OR OLD.type IS DISTINCT FROM NEW.type" if with_type else "")
    return [
        "DROP TRIGGER entities_words_au ON entities",
        "CREATE OR REPLACE FUNCTION entity_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'UPDATE' THEN DELETE FROM entity_words WHERE entity_id = OLD.id; END IF; "
        f"INSERT INTO entity_words ({columns}) "
        f"SELECT DISTINCT w, {'NEW.type, ' if with_type else ''}NEW.id "
        f"FROM {_WORDS.format(name='NEW.name')} AS w WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
        "INSERT INTO search_words (word) "
        f"SELECT DISTINCT w FROM {_WORDS.format(name='NEW.name')} AS w "
        f"WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
        "RETURN NULL; "
        "END $$",
        f"CREATE TRIGGER entities_words_au AFTER UPDATE OF name{', type' if with_type else ''} "
        f"ON entities FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION entity_words_sync()",
    ]


PG_UP = [
    "TRUNCATE entity_words",
    "ALTER TABLE entity_words ADD COLUMN type varchar(50) NOT NULL",
    *_pg_words("word, type, entity_id"),
    "INSERT INTO entity_words (word, type, entity_id) "
    f"SELECT DISTINCT w, e.type, e.id FROM entities e, {_WORDS.format(name='e.name')} AS w "
    f"WHERE {_LONG_ENOUGH}",
    "CREATE INDEX ix_entity_words_type_word ON entity_words (type, word, entity_id)",
    # Words and types go together (most "building"s are work orders): without statistics on
    # the pair the planner took 75,000 work-order "building"s for 5,581 and chose a 300 ms
    # hash join over a 0.3 ms merge of the two words' entries.
    "CREATE STATISTICS entity_words_type_word (mcv) ON type, word FROM entity_words",
]
PG_DOWN = [
    "DROP STATISTICS entity_words_type_word",
    "DROP INDEX ix_entity_words_type_word",
    "ALTER TABLE entity_words DROP COLUMN type",
    *_pg_words("word, entity_id"),
]

UP = {"sqlite": SQLITE_UP, "postgresql": PG_UP}
DOWN = {"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in UP.get(dialect, []):
        op.execute(statement)
    if dialect == "postgresql":
        # The statistics, and the visibility map without which every index-only walk of the
        # new index reads the table too (VACUUM runs outside a transaction).
        with op.get_context().autocommit_block():
            op.execute("VACUUM ANALYZE entity_words")


def downgrade():
    for statement in DOWN.get(op.get_bind().dialect.name, []):
        op.execute(statement)

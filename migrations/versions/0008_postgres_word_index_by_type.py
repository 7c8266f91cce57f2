"""PostgreSQL: the word index also by entity type, for searches within one type

The entity list always lists one type, so its search filtered the word index's entries by
type one entity at a time: "hvac filter" among work orders read 6,304 entries of other types
and probed each (18 ms at 1,000,000 entities), "lake" among properties 8 ms. entity_words
now keeps each entity's type beside its words, and an index on (type, word, entity_id) walks
one type's entries of a word newest first (BENCHMARKS.md, Search). The table is rebuilt from
the names, as 0006 built it: 2-3 minutes per 1,000,000 entities (154 s measured). Types never change, but
the trigger refreshes an entity's words if one ever did.

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

PG_UP = [
    "DROP TRIGGER entities_words_au ON entities",
    "TRUNCATE entity_words",
    "ALTER TABLE entity_words ADD COLUMN type varchar(50) NOT NULL",
    "CREATE OR REPLACE FUNCTION entity_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' THEN DELETE FROM entity_words WHERE entity_id = OLD.id; END IF; "
    "INSERT INTO entity_words (word, type, entity_id) "
    f"SELECT DISTINCT w, NEW.type, NEW.id FROM {_WORDS.format(name='NEW.name')} AS w "
    f"WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
    "INSERT INTO search_words (word) "
    f"SELECT DISTINCT w FROM {_WORDS.format(name='NEW.name')} AS w "
    f"WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER entities_words_au AFTER UPDATE OF name, type ON entities "
    "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.type IS DISTINCT FROM NEW.type) "
    "EXECUTE FUNCTION entity_words_sync()",
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
    "DROP TRIGGER entities_words_au ON entities",
    "CREATE OR REPLACE FUNCTION entity_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' THEN DELETE FROM entity_words WHERE entity_id = OLD.id; END IF; "
    "INSERT INTO entity_words (word, entity_id) "
    f"SELECT DISTINCT w, NEW.id FROM {_WORDS.format(name='NEW.name')} AS w "
    f"WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
    "INSERT INTO search_words (word) "
    f"SELECT DISTINCT w FROM {_WORDS.format(name='NEW.name')} AS w "
    f"WHERE {_LONG_ENOUGH} ON CONFLICT DO NOTHING; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER entities_words_au AFTER UPDATE OF name ON entities "
    "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION entity_words_sync()",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_UP:
            op.execute(statement)
        # The statistics, and the visibility map without which every index-only walk of the
        # new index reads the table too (VACUUM runs outside a transaction).
        with op.get_context().autocommit_block():
            op.execute("VACUUM ANALYZE entity_words")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DOWN:
            op.execute(statement)

"""PostgreSQL: an id-ordered word index for name search (entity_words), kept by a trigger

A pg_trgm GIN index finds a word's matches but cannot hand them out newest first, so a page
of a common word cost 300-1,100 ms at 1,000,000 entities (BENCHMARKS.md, Search). entity_words
holds (word, entity id) for every word of 3+ letters of every name; a search walks it backward
and stops after one page. The trigger also keeps search_words (the typo-correction vocabulary
and the list a query word is expanded against) complete. SQLite has FTS5 (migration 0002) and
gets nothing here.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: The words of a name as search.words() makes them: lower case, runs of word characters.
_WORDS = r"regexp_split_to_table(lower({name}), '\W+')"

PG_UP = [
    "CREATE TABLE entity_words ("
    " word varchar(200) NOT NULL,"
    " entity_id integer NOT NULL REFERENCES entities (id) ON DELETE CASCADE,"
    " CONSTRAINT pk_entity_words PRIMARY KEY (word, entity_id))",
    # Common words have tens of thousands of rows: plan their EXISTS checks with real counts.
    "ALTER TABLE entity_words ALTER COLUMN word SET STATISTICS 1000",
    "CREATE INDEX ix_entity_words_entity_id ON entity_words (entity_id)",
    "CREATE FUNCTION entity_words_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' THEN DELETE FROM entity_words WHERE entity_id = OLD.id; END IF; "
    "INSERT INTO entity_words (word, entity_id) "
    f"SELECT DISTINCT w, NEW.id FROM {_WORDS.format(name='NEW.name')} AS w "
    "WHERE length(w) >= 3 AND length(w) <= 200 ON CONFLICT DO NOTHING; "
    "INSERT INTO search_words (word) "
    f"SELECT DISTINCT w FROM {_WORDS.format(name='NEW.name')} AS w "
    "WHERE length(w) >= 3 AND length(w) <= 200 ON CONFLICT DO NOTHING; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER entities_words_ai AFTER INSERT ON entities "
    "FOR EACH ROW EXECUTE FUNCTION entity_words_sync()",
    "CREATE TRIGGER entities_words_au AFTER UPDATE OF name ON entities "
    "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION entity_words_sync()",
    "INSERT INTO entity_words (word, entity_id) "
    f"SELECT DISTINCT w, e.id FROM entities e, {_WORDS.format(name='e.name')} AS w "
    "WHERE length(w) >= 3 AND length(w) <= 200",
    "INSERT INTO search_words (word) SELECT DISTINCT word FROM entity_words "
    "ON CONFLICT DO NOTHING",
    "ANALYZE entity_words",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS entities_words_au ON entities",
    "DROP TRIGGER IF EXISTS entities_words_ai ON entities",
    "DROP FUNCTION IF EXISTS entity_words_sync()",
    "DROP TABLE IF EXISTS entity_words",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_UP:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DOWN:
            op.execute(statement)

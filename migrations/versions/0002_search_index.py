"""search index: vocabulary table, SQLite FTS5 trigram table or PostgreSQL pg_trgm index

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE entity_search USING fts5("
    "name, content='entities', content_rowid='id', tokenize='trigram')",
    "INSERT INTO entity_search(rowid, name) SELECT id, name FROM entities",
    "CREATE TRIGGER entities_search_ai AFTER INSERT ON entities BEGIN "
    "INSERT INTO entity_search(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER entities_search_ad AFTER DELETE ON entities BEGIN "
    "INSERT INTO entity_search(entity_search, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER entities_search_au AFTER UPDATE OF name ON entities BEGIN "
    "INSERT INTO entity_search(entity_search, rowid, name) VALUES ('delete', old.id, old.name); "
    "INSERT INTO entity_search(rowid, name) VALUES (new.id, new.name); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS entities_search_au",
    "DROP TRIGGER IF EXISTS entities_search_ad",
    "DROP TRIGGER IF EXISTS entities_search_ai",
    "DROP TABLE IF EXISTS entity_search",
]
PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_entities_name_trgm ON entities USING gin (lower(name) gin_trgm_ops)",
]
PG_DOWN = ["DROP INDEX IF EXISTS ix_entities_name_trgm"]


def upgrade():
    op.create_table(
        "search_words",
        sa.Column("word", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
    )
    for statement in _for_dialect(SQLITE_UP, PG_UP):
        op.execute(statement)


def downgrade():
    for statement in _for_dialect(SQLITE_DOWN, PG_DOWN):
        op.execute(statement)
    op.drop_table("search_words")


def _for_dialect(sqlite, postgresql):
    name = op.get_bind().dialect.name
    return {"sqlite": sqlite, "postgresql": postgresql}.get(name, [])

"""Engine-level settings: SQLite gets WAL, foreign keys, a busy timeout and IMMEDIATE writes."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

#: Execution option the core sets on write transactions (see ``write_session``).
IMMEDIATE = "statekeeper_immediate"
_configured = False


def configure_engines() -> None:
    """Install the SQLite listeners once per process (idempotent)."""
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)
    _configured = True


def _is_sqlite(dbapi_connection: Any) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not _is_sqlite(dbapi_connection):
        return
    # Let SQLAlchemy emit BEGIN itself so that writers can ask for BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=15000", "synchronous=NORMAL"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _on_begin(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    # A writer takes the lock up front: no "database is locked" halfway through a command.
    immediate = conn.get_execution_options().get(IMMEDIATE)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

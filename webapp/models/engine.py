"""Engine-level settings: SQLite gets WAL, foreign keys, a busy timeout and IMMEDIATE writes."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

#: Execution option the core sets on write transactions (see ``write_session``).
IMMEDIATE = "statekeeper_immediate"


def configure_engines() -> None:
    """Install the SQLite listeners on every engine (idempotent: SQLAlchemy's event registry
    is the record of whether they are there; they act on SQLite connections only)."""
    for name, listener in (("connect", _on_connect), ("begin", _on_begin)):
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)


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
    # Straight to the driver: every request begins a transaction, and exec_driver_sql's trip
    # through SQLAlchemy's execution cost more than the BEGIN.
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

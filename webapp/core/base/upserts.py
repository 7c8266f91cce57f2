"""INSERT ... ON CONFLICT on SQLite and PostgreSQL (both speak it; SQLAlchemy spells it per dialect)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session


def insert_for(session: Session, model: Any) -> Any:
    """The dialect's INSERT construct, which offers ``on_conflict_do_nothing/_update``."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the contract names SQLite and PostgreSQL only
        raise NotImplementedError(f"no upsert for {dialect}")
    return insert(getattr(model, "__table__", model))


def insert_ignore(session: Session, model: Any, rows: Sequence[dict[str, Any]],
                  keys: Sequence[str]) -> None:
    """Insert the rows that do not exist yet (by the unique ``keys``); skip the others."""
    if rows:
        stmt = insert_for(session, model).on_conflict_do_nothing(index_elements=list(keys))
        session.connection().execute(stmt, list(rows))

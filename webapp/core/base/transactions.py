"""One transaction per command, owned by the core."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, scoped_session

from webapp.models.engine import IMMEDIATE


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run the block in a fresh write transaction and commit it; roll back on any error.

    Whatever read transaction the session had is ended first, so the write starts from
    current data (and on SQLite takes the write lock up front with BEGIN IMMEDIATE).
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction():
        session.rollback()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise

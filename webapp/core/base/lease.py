"""Named leases: only the holder runs the job; a crashed holder's lease runs out.

One row per name. Taking it is a single INSERT ... ON CONFLICT DO UPDATE ... WHERE the row has
expired or is already ours, so two processes racing for it cannot both win (the database
serialises the statement on SQLite and PostgreSQL alike). Times come from the caller's clock.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from webapp.core.base.transactions import write_transaction
from webapp.core.base.upserts import insert_for
from webapp.models import Lease


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    expires_at: datetime


def new_holder(role: str = "worker") -> str:
    """A name for this process and purpose, unique even across hosts and restarts."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease (or extend it when it is ours); False while another holds it unexpired."""
    stmt = insert_for(session, Lease).values(name=name, holder=holder, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=(Lease.__table__.c.expires_at < now) | (Lease.__table__.c.holder == holder))
    with write_transaction(session):
        session.connection().execute(stmt)
        current = session.scalar(select(Lease.holder).where(Lease.name == name))
    return current == holder


def renew(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Push our expiry on; False when the lease is no longer ours (someone took it over)."""
    with write_transaction(session):
        result = session.connection().execute(
            update(Lease.__table__).where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=now + ttl))
    return result.rowcount == 1


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up (only if it is still ours)."""
    with write_transaction(session):
        session.connection().execute(
            delete(Lease.__table__).where(Lease.name == name, Lease.holder == holder))


def current(session: Session, name: str, now: datetime) -> LeaseInfo | None:
    """Who holds the lease now (None when free or expired)."""
    row = session.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
    if row is None or row.expires_at < now:
        return None
    return LeaseInfo(name, row.holder, row.expires_at)

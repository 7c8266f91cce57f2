"""Named leases: only the holder runs the job; a crashed holder's lease runs out.

One row per name. Taking it is a single INSERT ... ON CONFLICT DO UPDATE ... WHERE the row has
expired or is already ours, so two processes racing for it cannot both win (the database
serialises the statement on SQLite and PostgreSQL alike). Renewing and releasing touch the row
only while it is still ours, so a holder whose lease ran out and was taken over cannot take it
back. Each step runs in a transaction of its own, or (``*_within``, ``keep``) inside the
caller's, so that work and lease commit together; ``keep`` raises ``LeaseLost`` to roll that
work back. Times come from the caller's clock.
"""
from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
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


class LeaseLost(Exception):
    """Our lease passed to another holder (ours had run out): stop, write nothing more, and
    leave the work to the new holder -- it is not a failure of the work itself."""

    def __init__(self, name: str, holder: str) -> None:
        super().__init__(f"lease {name!r} is no longer held by {holder}; another holder took "
                         f"it over after it ran out")
        self.name, self.holder = name, holder


def acquire(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease (or extend it when it is ours); False while another holds it unexpired."""
    with write_transaction(session):
        return acquire_within(session, name, holder, now, ttl)


def renew(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Push our expiry on; False when the lease is no longer ours (someone took it over)."""
    with write_transaction(session):
        return renew_within(session, name, holder, now, ttl)


def release(session: Session, name: str, holder: str) -> bool:
    """Give the lease up (only if it is still ours); True when it was ours."""
    with write_transaction(session):
        return release_within(session, name, holder)


# The same three steps as part of the caller's open write transaction, for work that must
# commit only while the lease is still its own (a bulk job's chunk, its final state).


def acquire_within(session: Session, name: str, holder: str, now: datetime,
                   ttl: timedelta) -> bool:
    """``acquire`` inside the caller's write transaction (committed or rolled back with it)."""
    stmt = insert_for(session, Lease).values(name=name, holder=holder, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=(Lease.__table__.c.expires_at < now) | (Lease.__table__.c.holder == holder))
    session.connection().execute(stmt)
    return session.scalar(select(Lease.holder).where(Lease.name == name)) == holder


def renew_within(session: Session, name: str, holder: str, now: datetime,
                 ttl: timedelta) -> bool:
    """``renew`` inside the caller's write transaction. The row it updates stays locked
    (PostgreSQL) until that transaction ends, so nobody takes the lease over meanwhile."""
    result = session.connection().execute(
        update(Lease.__table__).where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=now + ttl))
    return result.rowcount == 1


def keep(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> None:
    """``renew_within``, or LeaseLost: raised inside the caller's transaction, it rolls the
    transaction back, so work done under a lost lease is never committed."""
    if not renew_within(session, name, holder, now, ttl):
        raise LeaseLost(name, holder)


def release_within(session: Session, name: str, holder: str) -> bool:
    """``release`` inside the caller's write transaction; True when the lease was ours."""
    result = session.connection().execute(
        delete(Lease.__table__).where(Lease.name == name, Lease.holder == holder))
    return result.rowcount == 1


def held(session: Session, names: Iterable[str], now: datetime) -> set[str]:
    """Which of these leases someone holds now (unexpired); the others are free to take."""
    names = list(names)
    if not names:
        return set()
    return set(session.scalars(select(Lease.name).where(
        Lease.name.in_(names), Lease.expires_at >= now)))


def current(session: Session, name: str, now: datetime) -> LeaseInfo | None:
    """Who holds the lease now (None when free or expired)."""
    row = session.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
    if row is None or row.expires_at < now:
        return None
    return LeaseInfo(name, row.holder, row.expires_at)

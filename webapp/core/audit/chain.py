"""The audit log: append-only, redacted, each row chained to the previous one by hash."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from webapp.core.audit.redaction import redact, redact_text
from webapp.core.base.actor import Actor
from webapp.core.base.errors import storable_id
from webapp.models import AuditCheckpoint, AuditEntry

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x5EA1A0D1


@dataclass
class AuditRecord:
    """One thing a person or client did, before it is chained and written."""

    actor: Actor
    event_type: str
    object_type: str | None = None
    object_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    message: str | None = None
    correlation_id: str | None = None
    risk: str = "low"
    extra: dict[str, Any] = field(default_factory=dict)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Only the keys whose values differ, as {"before": {...}, "after": {...}}."""
    before, after = before or {}, after or {}
    keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {
        "before": {k: before[k] for k in keys if k in before},
        "after": {k: after[k] for k in keys if k in after},
    }


def write(session: Session, records: Sequence[AuditRecord], now: datetime) -> list[AuditEntry]:
    """Chain and add the records to the session (the caller's transaction commits them)."""
    prev = _last_hash(session)
    entries = []
    for rec in records:
        entry = _entry(rec, now)
        entry.prev_hash, entry.hash = prev, entry_hash(entry, prev)
        prev = entry.hash
        entries.append(entry)
    session.add_all(entries)
    session.flush()
    return entries


def _last_hash(session: Session) -> str:
    # Serialise chain writers: PostgreSQL via an advisory lock; SQLite writers already hold
    # the database's write lock (BEGIN IMMEDIATE).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return last or GENESIS


def _entry(rec: AuditRecord, now: datetime) -> AuditEntry:
    changes = redact(diff(rec.before, rec.after)) if (rec.before or rec.after) else {}
    if rec.extra:
        changes["extra"] = redact(rec.extra)
    return AuditEntry(
        created_at=now, actor=rec.actor.name, ip=rec.actor.ip,
        user_agent=(rec.actor.user_agent or "")[:255] or None,
        correlation_id=rec.correlation_id, event_type=rec.event_type,
        object_type=rec.object_type, object_id=rec.object_id, diff=changes,
        message=redact_text(rec.message) if rec.message else None, risk=rec.risk,
    )


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256 over the previous hash and every stored field of the row."""
    body = {
        "created_at": entry.created_at.isoformat(timespec="microseconds")
        if entry.created_at.tzinfo is None
        else entry.created_at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        "actor": entry.actor, "ip": entry.ip, "user_agent": entry.user_agent,
        "correlation_id": entry.correlation_id, "event_type": entry.event_type,
        "object_type": entry.object_type, "object_id": entry.object_id,
        "diff": entry.diff, "message": entry.message, "risk": entry.risk,
    }
    payload = prev_hash + json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; the first row whose hash does not match is reported.

    The walk starts at the latest checkpoint left by archiving (or at the genesis hash), so
    archived entries need not be present and removing the oldest rows is still caught.
    """
    checkpoint = session.scalar(
        select(AuditCheckpoint).order_by(AuditCheckpoint.archived_up_to_id.desc()).limit(1))
    prev = checkpoint.last_hash if checkpoint else GENESIS
    last_id = checkpoint.archived_up_to_id if checkpoint else 0
    checked = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return VerifyResult(True, checked, None)
        for row in rows:
            if row.prev_hash != prev or entry_hash(row, row.prev_hash) != row.hash:
                return VerifyResult(False, checked, row.id)
            prev, checked, last_id = row.hash, checked + 1, row.id
            session.expunge(row)


@dataclass(frozen=True)
class Head:
    """The newest entry's id and hash at some moment.

    The chain alone shows that rows were changed or removed, not that someone with write
    access to the database rewrote a row and then rehashed every row after it. A head written
    down outside the database (the workers log one every hour; ``flask audit head``) closes
    that: a rewritten chain no longer has that hash at that id.
    """

    id: int
    hash: str


def head(session: Session) -> Head | None:
    """The chain's newest entry, or None while the log is empty."""
    row = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    return Head(row.id, row.hash) if row else None


def check_head(session: Session, anchor: Head) -> str | None:
    """None when the chain still has ``anchor`` (its id with its hash), else what differs.

    An entry archived since is compared with the archive checkpoint when the checkpoint ends
    at it; other archived ones pass here (their hashes are in the archive files).
    """
    row = session.get(AuditEntry, anchor.id) if storable_id(anchor.id) else None
    if row is not None:
        return None if row.hash == anchor.hash else (
            f"entry #{anchor.id} has hash {row.hash}, not {anchor.hash} as written down")
    checkpoint = session.scalar(select(AuditCheckpoint).where(
        AuditCheckpoint.archived_up_to_id >= anchor.id
    ).order_by(AuditCheckpoint.archived_up_to_id).limit(1))
    if checkpoint is None:
        return f"entry #{anchor.id} is missing from the log"
    if checkpoint.archived_up_to_id == anchor.id and checkpoint.last_hash != anchor.hash:
        return (f"archived entry #{anchor.id} has hash {checkpoint.last_hash}, "
                f"not {anchor.hash} as written down")
    return None

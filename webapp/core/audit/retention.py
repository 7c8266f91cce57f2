"""Audit retention: entries past the retention period move to a JSON-lines archive file.

The archived entries are removed from the table and an AuditCheckpoint row records the hash of
the last one, so ``audit.verify`` walks the remaining chain from there. The newest entry is
always kept: new entries chain to the table's last row, so the chain never restarts.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import SYSTEM, Actor
from webapp.core.base.transactions import write_transaction
from webapp.models import AuditCheckpoint, AuditEntry

ARCHIVE_FOLDER = "audit-archive"
_FIELDS = ("id", "created_at", "actor", "ip", "user_agent", "correlation_id", "event_type",
           "object_type", "object_id", "diff", "message", "risk", "prev_hash", "hash")


@dataclass(frozen=True)
class ArchiveResult:
    archived: int
    up_to_id: int
    path: Path


def archive_expired(session: Session, instance_dir: Path, retention_days: int, now: datetime,
                    actor: Actor = SYSTEM, batch: int = 5000) -> ArchiveResult | None:
    """Archive and remove entries older than ``retention_days``; None when there are none.

    The file is written first, from rows that can no longer change (the log is append-only),
    so the write transaction that removes them stays short.
    """
    start, up_to = _range(session, now - timedelta(days=retention_days))
    if up_to is None:
        return None
    path = _archive_path(instance_dir, start, up_to)
    count, last_hash = _write_file(session, path, start, up_to, batch)
    with write_transaction(session):
        if _checkpoint_id(session) != start:  # another process archived meanwhile
            path.unlink(missing_ok=True)
            return None
        session.execute(delete(AuditEntry).where(AuditEntry.id <= up_to))
        session.add(AuditCheckpoint(created_at=now, archived_up_to_id=up_to, last_hash=last_hash,
                                    archived_count=count, archive_file=str(path)))
        audit.write(session, [audit.AuditRecord(
            actor, "audit.archived", message=f"{count} entries up to #{up_to} archived",
            extra={"file": path.name, "retention_days": retention_days})], now)
    return ArchiveResult(count, up_to, path)


def _checkpoint_id(session: Session) -> int:
    return session.scalar(select(func.max(AuditCheckpoint.archived_up_to_id))) or 0


def _range(session: Session, cutoff: datetime) -> tuple[int, int | None]:
    """(last archived id, last id to archive now): the oldest run of entries before ``cutoff``.

    Archiving stops before the first recent entry so the archive is always a prefix of the
    chain, and before the newest entry, which new entries chain to.
    """
    session.rollback()  # read the current table, not an older snapshot
    start = _checkpoint_id(session)
    first_recent = session.scalar(select(AuditEntry.id).where(AuditEntry.created_at >= cutoff)
                                  .order_by(AuditEntry.id).limit(1))
    newest = session.scalar(select(func.max(AuditEntry.id)))
    if newest is None:
        return start, None
    up_to = min(newest, first_recent if first_recent is not None else newest) - 1
    has_any = session.scalar(select(AuditEntry.id).where(AuditEntry.id > start,
                                                         AuditEntry.id <= up_to).limit(1))
    return start, (up_to if has_any is not None else None)


def _archive_path(instance_dir: Path, start: int, up_to: int) -> Path:
    folder = Path(instance_dir) / ARCHIVE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"audit-{start + 1:012d}-{up_to:012d}.jsonl"


def _write_file(session: Session, path: Path, start: int, up_to: int,
                batch: int) -> tuple[int, str]:
    """Write entries (start, up_to] in id order; return their count and the last hash."""
    partial = path.with_suffix(".partial")
    count, last_hash, last_id = 0, "", start
    with open(partial, "w", encoding="utf-8") as fh:
        while last_id < up_to:
            rows = session.scalars(select(AuditEntry).where(
                AuditEntry.id > last_id, AuditEntry.id <= up_to).order_by(AuditEntry.id)
                .limit(batch)).all()
            if not rows:
                break
            for row in rows:
                fh.write(json.dumps(_record(row), sort_keys=True, default=str) + "\n")
                session.expunge(row)
            count, last_hash, last_id = count + len(rows), rows[-1].hash, rows[-1].id
        fh.flush()
        os.fsync(fh.fileno())
    partial.replace(path)  # the archive appears whole or not at all
    return count, last_hash


def _record(row: AuditEntry) -> dict:
    record = {name: getattr(row, name) for name in _FIELDS}
    record["created_at"] = row.created_at.isoformat()
    return record


def verify_archive(path: Path, expected_prev: str = audit.GENESIS) -> audit.VerifyResult:
    """Check an archive file on its own: each line's hash, and the chain between lines."""
    prev, checked = expected_prev, 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            entry = AuditEntry(**{**record, "created_at": datetime.fromisoformat(
                record["created_at"])})
            if entry.prev_hash != prev or audit.entry_hash(entry, entry.prev_hash) != entry.hash:
                return audit.VerifyResult(False, checked, entry.id)
            prev, checked = entry.hash, checked + 1
    return audit.VerifyResult(True, checked, None)

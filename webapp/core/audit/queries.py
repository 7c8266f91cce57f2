"""Reading the audit log: filters, keyset pages (newest first) and CSV rows for export."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from webapp.core.base.errors import ID_MAX, InvalidInput, NotFound
from webapp.core.base.paging import check_limit, decode_cursor, encode_cursor
from webapp.models import AuditEntry

#: Longest value a text filter accepts (the widest audit column is 80 characters).
FILTER_MAX = 100
CSV_COLUMNS = ("id", "created_at", "actor", "ip", "event_type", "object_type", "object_id",
               "correlation_id", "risk", "message", "diff", "hash")
_TIME_HINT = "Use an ISO 8601 time, e.g. 2026-01-31T12:00:00Z."


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    event_type: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_query(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in asdict(self).items() if v is not None}

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


def filters_from(args: Mapping[str, Any]) -> AuditFilters:
    """Filters from request arguments; blanks are ignored, bad values raise InvalidInput."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for f in fields(AuditFilters):
        raw = args.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            values[f.name] = _time(raw) if f.name in ("since", "until") else _text(raw)
        except (TypeError, ValueError) as exc:
            errors[f.name] = str(exc)
    if not errors and values.get("since") and values.get("until") and \
            values["since"] > values["until"]:
        errors["until"] = "Must not be before 'since'."
    if errors:
        raise InvalidInput("Some filters are not valid.", errors)
    return AuditFilters(**values)


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError("Send text.")
    if len(raw) > FILTER_MAX:
        raise ValueError(f"At most {FILTER_MAX} characters.")
    return raw.strip()


def _time(raw: Any) -> datetime:
    """An ISO 8601 time or date; times without a zone are UTC, as stored."""
    if not isinstance(raw, str):
        raise TypeError(_TIME_HINT)
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValueError(_TIME_HINT) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def query(f: AuditFilters) -> Select[tuple[AuditEntry]]:
    """Entries matching every given filter (exact matches: the log is searched, not guessed)."""
    stmt = select(AuditEntry)
    for name in ("actor", "event_type", "object_type", "object_id", "correlation_id"):
        value = getattr(f, name)
        if value is not None:
            stmt = stmt.where(getattr(AuditEntry, name) == value)
    if f.since is not None:
        stmt = stmt.where(AuditEntry.created_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEntry.created_at <= f.until)
    return stmt


@dataclass
class Page:
    items: list[AuditEntry]
    next_cursor: str | None
    prev_cursor: str | None


def page(session: Session, f: AuditFilters, limit: Any = None, cursor: str | None = None) -> Page:
    """Newest first, keyset-paginated by id in both directions; never counts the table."""
    limit = check_limit(limit)
    position = decode_cursor(cursor)
    backwards = position is not None and position[0] == "prev"
    stmt = query(f)
    if position:
        bound = max(min(position[1], ID_MAX), -ID_MAX)
        stmt = stmt.where(AuditEntry.id > bound if backwards else AuditEntry.id < bound)
    order = AuditEntry.id.asc() if backwards else AuditEntry.id.desc()
    rows = list(session.scalars(stmt.order_by(order).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and bool(rows))
    has_prev = position is not None and (not backwards or more)
    return Page(rows, encode_cursor(rows[-1].id) if rows and has_next else None,
                encode_cursor(rows[0].id, "prev") if rows and has_prev else None)


def get(session: Session, entry_id: int) -> AuditEntry:
    entry = session.get(AuditEntry, entry_id) if 0 < entry_id <= ID_MAX else None
    if entry is None:
        raise NotFound(f"No audit entry with id {entry_id}.")
    return entry


def to_dict(e: AuditEntry) -> dict[str, Any]:
    """One entry as the API shows it (already redacted when it was written)."""
    return {
        "id": e.id, "created_at": e.created_at.isoformat(), "actor": e.actor, "ip": e.ip,
        "user_agent": e.user_agent, "event_type": e.event_type, "object_type": e.object_type,
        "object_id": e.object_id, "correlation_id": e.correlation_id, "diff": e.diff or {},
        "message": e.message, "risk": e.risk, "prev_hash": e.prev_hash, "hash": e.hash,
    }


def csv_rows(session: Session, f: AuditFilters, batch: int = 2000) -> Iterator[Sequence[Any]]:
    """The header, then every matching entry newest first, read in keyset batches; written
    out by ``base.csvfile``, which guards the cells.

    Plain column tuples, not ORM objects: an export of a large log stays fast and small.
    """
    yield list(CSV_COLUMNS)
    columns = [getattr(AuditEntry, c) for c in CSV_COLUMNS]
    last_id: int | None = None
    while True:
        stmt = query(f).with_only_columns(*columns)
        if last_id is not None:
            stmt = stmt.where(AuditEntry.id < last_id)
        rows = session.execute(stmt.order_by(AuditEntry.id.desc()).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        last_id = rows[-1][0]


def event_types(session: Session, limit: int = 100) -> list[str]:
    """Event types seen so far, for the filter's suggestions.

    A loose index scan (one indexed lookup per distinct type) instead of DISTINCT, which
    would read the whole index of a large log on every page view.
    """
    found: list[str] = []
    while len(found) < limit:
        stmt = select(AuditEntry.event_type).order_by(AuditEntry.event_type).limit(1)
        if found:
            stmt = stmt.where(AuditEntry.event_type > found[-1])
        value = session.scalar(stmt)
        if value is None:
            return found
        found.append(value)
    return found

"""A bulk operation's request and result: what to do to which entities (``BulkRequest``, with
its checks), and what came of it (``BulkResult``, the contract's bulk result shape). The
running is in ``operations``, the records in ``records``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput, storable_id
from webapp.core.base.words import plural
from webapp.core.bulk import plans as bulk_plans
from webapp.core.bulk.plans import ROWS_KEPT, Chunk
from webapp.core.changes.manager import StateManager
from webapp.core.fields.secrets import sensitive_names

OPERATIONS = ("transition", "assign", "update", "undo")
#: Most ids one request may name (CONTRACT.md §6).
ID_LIMIT = 1000
PROTECTED_KEYS = ("id", "type", "status", "version")


@dataclass(frozen=True)
class BulkRequest:
    """What to do to which entities (``undo_of`` names the operation an undo reverses)."""

    operation: str
    ids: tuple[int, ...] = ()
    target_state: str | None = None
    assignee: str | None = None
    update_data: dict[str, Any] | None = None
    comment: str | None = None
    dry_run: bool = False
    rollback_on_error: bool = True
    #: History id the user's preview was made at: entities changed after it are skipped.
    since_change_id: int | None = None
    undo_of: str | None = None
    #: Undo even where the workflow has no way back (admins only).
    force: bool = False

    def params(self) -> dict[str, Any]:
        """The request as stored with the operation (ids apart: they are counted)."""
        keep = ("target_state", "assignee", "update_data", "comment", "rollback_on_error",
                "undo_of", "force")
        return {k: getattr(self, k) for k in keep if getattr(self, k) not in (None, False)} | {
            "rollback_on_error": self.rollback_on_error}


@dataclass
class BulkResult:
    """The contract's bulk result (CONTRACT.md §6), plus preview rows for the pages."""

    operation_type: str
    dry_run: bool
    total_items: int = 0
    successful_ids: list[int] = field(default_factory=list)
    failure_details: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    was_rolled_back: bool = False
    audit_correlation_id: str | None = None
    #: The first ROWS_KEPT items: {"id","type","name","old_status","new_status","ok","message"}.
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: Follow-up changes written with the operation (cascades, derived statuses).
    cascaded: int = 0
    #: (entity id, old status, new status) of every change written, for the audit record.
    written: list[tuple[int, str | None, str]] = field(default_factory=list)

    @property
    def successful_items(self) -> int:
        return len(self.successful_ids)

    @property
    def failed_items(self) -> int:
        return len(self.failure_details)

    @property
    def success_rate(self) -> float:
        """Percent of the items that were (or in a dry run would be) changed."""
        return round(100.0 * self.successful_items / self.total_items, 1) if self.total_items else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation_type": self.operation_type, "total_items": self.total_items,
            "successful_items": self.successful_items, "failed_items": self.failed_items,
            "success_rate": self.success_rate, "successful_ids": list(self.successful_ids),
            "failed_ids": list(self.failure_details),
            "failure_details": {str(k): v for k, v in self.failure_details.items()},
            "warnings": list(self.warnings), "was_rolled_back": self.was_rolled_back,
            "dry_run": self.dry_run, "audit_correlation_id": self.audit_correlation_id,
        }

    def add(self, chunk: Chunk) -> None:
        self.successful_ids += [c.entity.id for c in chunk.changes] + chunk.unchanged
        self.failure_details.update(chunk.failures)
        self.rows += chunk.rows[:max(0, ROWS_KEPT - len(self.rows))]
        self.cascaded += chunk.cascaded
        self.written += chunk.written


# ------------------------------------------------------------------------- input checks


def check_ids(ids: Any, limit: int | None = ID_LIMIT) -> tuple[int, ...]:
    """1 to ``limit`` whole-number ids without duplicates, else InvalidInput naming the problem."""
    if not isinstance(ids, list | tuple) or not ids:
        raise InvalidInput("Say which entities: ids must be a non-empty list.",
                           {"ids": "Send a list of entity ids, e.g. [1, 2, 3]."})
    if limit is not None and len(ids) > limit:
        raise InvalidInput(f"Too many ids: {len(ids):,} (at most {limit:,} per request).",
                           {"ids": f"Send at most {limit:,} ids; split larger operations."})
    bad = [i for i in ids if not storable_id(i)]
    if bad:
        raise InvalidInput("Every id must be a whole number.",
                           {"ids": f"Not an entity id: {', '.join(map(repr, bad[:5]))}."})
    seen: set[int] = set()
    dupes = sorted({i for i in ids if i in seen or seen.add(i)})
    if dupes:
        raise InvalidInput("The ids contain duplicates.",
                           {"ids": f"Duplicated: {', '.join(map(str, dupes[:10]))}."})
    return tuple(ids)


def check_update_data(data: Any) -> dict[str, Any]:
    """A non-empty merge patch that leaves the entity's own fields alone."""
    if not isinstance(data, dict) or not data:
        raise InvalidInput("update_data must be a non-empty JSON object.",
                           {"update_data": "Send the data fields to change, e.g. {\"priority\": \"HIGH\"}."})
    refused = sorted(k for k in data if k in PROTECTED_KEYS or str(k).startswith("created_"))
    if refused:
        raise InvalidInput("update_data may not set protected fields.",
                           {f"update_data.{k}": "protected: change it another way" for k in refused})
    return data


def check_assignee(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Say whom to assign to.", {"assignee": "A name is required."})
    if len(value.strip()) > 200:
        raise InvalidInput("assignee is too long.", {"assignee": "At most 200 characters."})
    return value.strip()


def check_request(req: BulkRequest) -> BulkRequest:
    """The request with its operation-specific fields checked (InvalidInput otherwise)."""
    if req.operation not in OPERATIONS:
        raise InvalidInput(f"Unknown bulk operation {req.operation!r}.",
                           {"operation": f"One of: {', '.join(OPERATIONS)}."})
    if req.operation == "transition" and not (isinstance(req.target_state, str)
                                              and req.target_state.strip()):
        raise InvalidInput("Say which state to move to.", {"target_state": "A state name is required."})
    if req.operation == "assign":
        return replace(req, assignee=check_assignee(req.assignee))
    if req.operation == "update":
        check_update_data(req.update_data)
    return req


def sealed_update(session: Session, sm: StateManager, req: BulkRequest) -> BulkRequest:
    """The request with the values of sensitive fields in ``update_data`` sealed, so that the
    operation's stored params and its audit record never hold them (CONTRACT §7); writing
    opens them again to check them against each entity's fields."""
    if not req.update_data:
        return req
    names = sensitive_names(wf.fields for wf in sm.workflows.all(session).values())
    return replace(req, update_data=sm.keyring.seal_named(names, req.update_data))


def check_limits(session: Session, sm: StateManager, req: BulkRequest) -> None:
    """A type whose workflow names a ``bulk_limit`` setting (the realestate pack's property:
    ``property_bulk_operation_max``) is capped at that many entities per request; the
    entities are counted only when the request names more ids than some cap.

    One rule on every path: ``run`` (so the preview, a dry run, refuses what Run would) and
    ``jobs.queue`` apply it. An undo is exempt: it puts back what one operation changed, and
    putting things back is never refused for its size."""
    if req.operation == "undo":
        return
    settings = sm.settings.all(session)
    limits = {t: wf.bulk_limit for t, wf in sorted(sm.workflows.all(session).items())
              if wf.bulk_limit in settings}
    for entity_type, setting in limits.items():
        cap = settings[setting]
        if len(req.ids) <= cap:
            continue
        n = bulk_plans.count_of_type(session, req.ids, entity_type)
        if n > cap:
            raise InvalidInput(f"This request names {plural(n, entity_type)}; at most {cap:,} may "
                               f"be changed at once (setting {setting}).",
                               {"ids": f"At most {plural(cap, entity_type)} per request."})

"""The numbered versions of a workflow (CONTRACT §10): listed newest first, read one by one,
compared (``diffing``). Versions are written by ``registry.save``, the one save path."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.publishing import diffing
from webapp.models import WorkflowDefinition, WorkflowVersion


def in_force(session: Session, entity_type: str) -> WorkflowDefinition:
    """The type's stored workflow; 404 naming the known types when there is none."""
    row = session.scalar(select(WorkflowDefinition)
                         .where(WorkflowDefinition.entity_type == entity_type))
    if row is None:
        known = ", ".join(session.scalars(select(WorkflowDefinition.entity_type)
                                          .order_by(WorkflowDefinition.entity_type)))
        raise NotFound(f"There is no workflow for {entity_type!r}; types: {known or 'none'}.")
    return row


def listing(session: Session, entity_type: str, limit: int = 500) -> list[WorkflowVersion]:
    """The type's versions, newest first (404 for an unknown type)."""
    in_force(session, entity_type)
    return list(session.scalars(select(WorkflowVersion)
                                .where(WorkflowVersion.entity_type == entity_type)
                                .order_by(WorkflowVersion.version.desc()).limit(limit)))


def get(session: Session, entity_type: str, number: Any) -> WorkflowVersion:
    """Version ``number`` of the type's workflow (400 for a non-number, 404 when absent)."""
    n = version_number(number, "version")
    in_force(session, entity_type)
    found = session.scalar(select(WorkflowVersion).where(
        WorkflowVersion.entity_type == entity_type, WorkflowVersion.version == n))
    if found is None:
        raise NotFound(f"The workflow for {entity_type!r} has no version {n}.")
    return found


def version_number(value: Any, name: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if isinstance(value, bool) or n < 1 or n > 2**31 - 1:
        raise InvalidInput(f"{name} must be a version number (1, 2, …).",
                           {name: "Send a whole number from 1."})
    return n


def summary(v: WorkflowVersion) -> dict[str, Any]:
    return {"version": v.version, "actor": v.actor, "comment": v.comment,
            "created_at": v.created_at.isoformat(), "correlation_id": v.correlation_id}


def document(v: WorkflowVersion) -> dict[str, Any]:
    """The version as ``workflows export`` writes a workflow, plus its metadata."""
    return {"pack": v.pack, "types": {v.entity_type: v.definition}, **summary(v)}


def compare(session: Session, entity_type: str, first: Any, second: Any) -> diffing.Diff:
    """What version ``second`` changed against version ``first``."""
    first, second = version_number(first, "from"), version_number(second, "to")
    a, b = get(session, entity_type, first), get(session, entity_type, second)
    return diffing.diff(a.definition, b.definition)

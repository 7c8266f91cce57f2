"""Loading the built-in workflow packs and workflow files into the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.workflows import registry, schema
from webapp.models import WorkflowDefinition


def import_document(session: Session, reg: registry.WorkflowRegistry, doc: Any, actor: Actor,
                    now: datetime) -> list[str]:
    """Store every type of a pack/workflow document (inside the caller's transaction).

    A type's declared ``settings`` are stored with it and come into force with it: the
    registry hands them to the settings store once ``reg`` reloads."""
    schema.check_file(doc)  # every key known, with its path when not, before anything is read
    pack = str(doc.get("pack") or "custom")
    known = set(session.scalars(select(WorkflowDefinition.entity_type))) | set(doc["types"])
    records = []
    for entity_type, definition in doc["types"].items():
        row, before = registry.save(session, entity_type, definition, pack, actor.name, now, known)
        records.append(audit.AuditRecord(
            actor, "workflow.import", "workflow", entity_type,
            before={"definition": before} if before else None, after={"definition": row.definition}))
    audit.write(session, records, now)
    reg.invalidate()
    return list(doc["types"])


def install_packs(session: Session, reg: registry.WorkflowRegistry, actor: Actor, now: datetime,
                  names: tuple[str, ...] = registry.PACKS) -> list[str]:
    """Load the named built-in packs (all by default)."""
    loaded: list[str] = []
    for name in names:
        loaded += import_document(session, reg, registry.load_pack(name), actor, now)
    return loaded

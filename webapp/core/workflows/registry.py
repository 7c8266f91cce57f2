"""The workflows in force: parsed from the database, cached, reloaded when any changes.

Several processes share one database, so the cache is checked against a cheap fingerprint
(the sum of row versions and the row count) instead of being trusted for ever.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.rules import RULE_KINDS, validate_params
from webapp.models import WorkflowDefinition

PACKS = ("realestate", "facilities", "accounts")
#: Asked on every page that needs the workflows: built once (building it costs more than the query).
_FINGERPRINT = select(func.count(WorkflowDefinition.id),
                      func.coalesce(func.sum(WorkflowDefinition.version), 0))


class WorkflowRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fingerprint: tuple[int, int] | None = None
        self._workflows: dict[str, Workflow] = {}
        self._packs: dict[str, str] = {}

    def all(self, session: Session) -> dict[str, Workflow]:
        fingerprint = tuple(session.execute(_FINGERPRINT).one())
        with self._lock:
            if fingerprint != self._fingerprint:
                rows = session.scalars(select(WorkflowDefinition)).all()
                self._workflows = {r.entity_type: wfmod.parse(r.entity_type, r.definition) for r in rows}
                self._packs = {r.entity_type: r.pack for r in rows}
                self._fingerprint = fingerprint  # type: ignore[assignment]
            return dict(self._workflows)

    def get(self, session: Session, entity_type: str) -> Workflow:
        wf = self.all(session).get(entity_type)
        if wf is None:
            known = ", ".join(sorted(self.all(session))) or "none loaded"
            raise InvalidInput(f"Unknown entity type {entity_type!r}.",
                               {"type": f"Choose one of: {known}."})
        return wf

    def pack_of(self, session: Session, entity_type: str) -> str:
        self.all(session)
        return self._packs.get(entity_type, "custom")

    def invalidate(self) -> None:
        with self._lock:
            self._fingerprint = None


def problems(wf: Workflow, known_types: set[str]) -> list[str]:
    """Everything that would make a workflow unsafe to save, as sentences."""
    found = wfmod.check(wf, set(RULE_KINDS))
    for t in wf.transitions:
        for r in t.rules:
            found += [f"Rule {r.kind!r} on {t.name!r}: {k} {m}."
                      for k, m in validate_params(r).items()]
    for c in wf.cascades:
        if c.path[-1] not in known_types:
            found.append(f"Cascade on {c.on_enter!r} names unknown type {c.path[-1]!r}.")
    if wf.parent_type and wf.parent_type not in known_types:
        found.append(f"Parent type {wf.parent_type!r} is not a known entity type.")
    return found


def save(session: Session, entity_type: str, document: dict[str, Any], pack: str, actor: str,
         now: datetime, known_types: set[str], expected_version: int | None = None
         ) -> tuple[WorkflowDefinition, dict[str, Any] | None]:
    """Validate and store a workflow document; returns the row and the previous document."""
    wf = wfmod.parse(entity_type, document)
    found = problems(wf, known_types | {entity_type})
    if found:
        raise InvalidInput(f"The workflow for {entity_type!r} has problems.",
                           {"definition": " ".join(found)})
    row = session.scalar(select(WorkflowDefinition).where(WorkflowDefinition.entity_type == entity_type))
    normalised = wfmod.to_document(wf)
    if row is None:
        row = WorkflowDefinition(entity_type=entity_type, pack=pack, definition=normalised,
                                 updated_at=now, updated_by=actor)
        session.add(row)
        session.flush()
        return row, None
    if expected_version is not None and row.version != expected_version:
        from webapp.core.base.errors import ConcurrencyConflict

        raise ConcurrencyConflict("The workflow was edited by someone else meanwhile.",
                                  expected_version, row.version)
    before = row.definition
    row.definition, row.updated_at, row.updated_by = normalised, now, actor
    session.flush()
    return row, before


def load_pack(name: str) -> dict[str, Any]:
    """A built-in pack's document from ``webapp/packs/<name>.json``."""
    if name not in PACKS:
        raise NotFound(f"No workflow pack named {name!r}; packs: {', '.join(PACKS)}.")
    return json.loads(resources.files("webapp.packs").joinpath(f"{name}.json").read_text())


def export_document(session: Session, registry: WorkflowRegistry, entity_type: str) -> dict[str, Any]:
    """A workflow as a self-contained declarative file (states, transitions, rules, cascades)."""
    wf = registry.get(session, entity_type)
    return {"pack": registry.pack_of(session, entity_type),
            "types": {entity_type: wfmod.to_document(wf)}}

"""The workflows in force: parsed from the database, cached, reloaded when any changes.

Several processes share one database, so the cache is checked against a cheap fingerprint
(the sum of row versions and the row count) instead of being trusted for ever.

The registry is also where the settings store learns the settings the workflows declare
(``declared_settings``, wired by the StateManager); the built-in packs' declarations are
handed to the settings package once, when this module is imported, so they have their
defaults before any pack is loaded.
"""
from __future__ import annotations

import functools
import json
import threading
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.base.words import label
from webapp.core.fields import columns, searchable
from webapp.core.fields.spec import parse_fields
from webapp.core.settings import store as settings_store
from webapp.core.settings.store import Setting
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.loops import follow_up_loops
from webapp.core.workflows.rules import RULE_KINDS, field_problems, validate_params
from webapp.core.workflows.sla_keeping import recompute as recompute_slas
from webapp.models import WorkflowDefinition, WorkflowVersion

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
        self._settings: dict[str, Setting] = {}
        #: Changes whenever the workflows in force may have changed (read by the settings store).
        self.generation = 0

    def all(self, session: Session) -> dict[str, Workflow]:
        fingerprint = tuple(session.execute(_FINGERPRINT).one())
        with self._lock:
            if fingerprint != self._fingerprint:
                rows = session.scalars(select(WorkflowDefinition)).all()
                self._workflows = {r.entity_type: wfmod.parse(r.entity_type, r.definition) for r in rows}
                self._packs = {r.entity_type: r.pack for r in rows}
                self._settings = {s.key: s for _, wf in sorted(self._workflows.items())
                                  for s in wf.settings}
                self._fingerprint = fingerprint  # type: ignore[assignment]
                self.generation += 1
            return dict(self._workflows)

    def declared_settings(self, session: Session) -> dict[str, Setting]:
        """The settings the workflows in force declare, by key (the settings store's source)."""
        self.all(session)
        with self._lock:
            return dict(self._settings)

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
            self.generation += 1


def problems(wf: Workflow, known_types: set[str]) -> list[str]:
    """Everything that would make a workflow unsafe to save, as sentences."""
    found = wfmod.check(wf, set(RULE_KINDS))
    found += wfmod.settings_problems(wf, settings_store.REGISTRY)
    for t in wf.transitions:
        for r in t.rules:
            found += [f"Rule {r.kind!r} on {t.name!r}: {k} {m}."
                      for k, m in (validate_params(r) or field_problems(r, wf.fields)).items()]
    for c in wf.cascades:
        if c.path[-1] not in known_types:
            found.append(f"Cascade on {c.on_enter!r} names unknown type {c.path[-1]!r}.")
    if wf.parent_type and wf.parent_type not in known_types:
        found.append(f"Parent type {wf.parent_type!r} is not a known entity type.")
    return found


def loops_with_stored(session: Session, wf: Workflow) -> list[str]:
    """The cascade loops ``wf`` would close with the workflows stored beside it (cascades and
    derived statuses cross types, so no workflow can be checked for them alone)."""
    rows = session.scalars(select(WorkflowDefinition)
                           .where(WorkflowDefinition.entity_type != wf.entity_type)).all()
    together = {r.entity_type: wfmod.parse(r.entity_type, r.definition) for r in rows}
    return follow_up_loops({**together, wf.entity_type: wf}, through={wf.entity_type})


def save(session: Session, entity_type: str, document: dict[str, Any], pack: str, actor: str,
         now: datetime, known_types: set[str], expected_version: int | None = None,
         comment: str | None = None, correlation_id: str | None = None
         ) -> tuple[WorkflowDefinition, dict[str, Any] | None]:
    """Validate and store a workflow document, kept as its next numbered version (CONTRACT
    §10) with ``comment``; returns the row and the previous document."""
    wf = wfmod.parse(entity_type, document)
    found = (problems(wf, known_types | {entity_type}) or loops_with_stored(session, wf)
             or _conflicts(session, wf))
    if found:
        raise InvalidInput(f"The workflow for {entity_type!r} has problems.",
                           {"definition": " ".join(found)})
    recompute_slas(session, wf, now)  # SLA clocks follow new goals (before the row changes)
    row = session.scalar(select(WorkflowDefinition).where(WorkflowDefinition.entity_type == entity_type))
    normalised = wfmod.to_document(wf)
    if row is None:
        row = WorkflowDefinition(entity_type=entity_type, pack=pack, definition=normalised,
                                 updated_at=now, updated_by=actor)
        session.add(row)
        session.flush()
        _keep_version(session, row, actor, now, comment or f"First version, from the "
                      f"{pack_label(pack).lower()} pack.", correlation_id)
        sync_field_indexes(session)
        return row, None
    if expected_version is not None and row.version != expected_version:
        from webapp.core.base.errors import ConcurrencyConflict

        raise ConcurrencyConflict("The workflow was edited by someone else meanwhile.",
                                  expected_version, row.version)
    before = row.definition
    row.definition, row.updated_at, row.updated_by = normalised, now, actor
    # Every save is the next version, even of the same definition at the same moment (a
    # rollback to it): an UPDATE then still happens, and with it the version's increment.
    flag_modified(row, "definition")
    session.flush()
    _keep_version(session, row, actor, now, comment or "Imported from a workflow file.",
                  correlation_id)
    sync_field_indexes(session)
    return row, before


def _keep_version(session: Session, row: WorkflowDefinition, actor: str, now: datetime,
                  comment: str, correlation_id: str | None) -> None:
    """The saved definition as version ``row.version`` (every save goes through here)."""
    session.add(WorkflowVersion(entity_type=row.entity_type, version=row.version, pack=row.pack,
                                definition=row.definition, actor=actor, comment=comment[:2000],
                                created_at=now, correlation_id=correlation_id))
    session.flush()


def sync_field_indexes(session: Session) -> tuple[list[str], list[str]]:
    """One index per filterable field of every stored workflow, no other (fields/columns.py);
    in the saving transaction, so a workflow and the indexes its lists need commit together."""
    rows = session.execute(select(WorkflowDefinition.entity_type, WorkflowDefinition.definition))
    fields_by_type = {t: parse_fields(doc.get("fields")) for t, doc in rows}
    searchable.sync(session, fields_by_type)  # and which fields the search indexes hold
    return columns.sync(session, fields_by_type)


def _conflicts(session: Session, wf: Workflow) -> list[str]:
    """A setting declared by another workflow too must be declared the same way: the store
    keeps one declaration per key."""
    if not wf.settings:
        return []
    others = session.execute(select(WorkflowDefinition.entity_type, WorkflowDefinition.definition)
                             .where(WorkflowDefinition.entity_type != wf.entity_type)).all()
    declared = {s.key: (other, s) for other, doc in others
                for s in wfmod.parse(other, doc).settings}
    return [f"Setting {s.key!r} is declared differently by {declared[s.key][0]!r}: declare it "
            f"the same way, or give it another name." for s in wf.settings
            if s.key in declared and declared[s.key][1] != s]


@functools.cache
def pack_label(name: str) -> str:
    """What people read for a pack: a built-in pack's ``label`` ("Real estate"), else its name
    in words ("Custom")."""
    if name in PACKS:
        return str(load_pack(name).get("label") or label(name).capitalize())
    return label(name).capitalize()


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


def _declare_builtin_settings() -> None:
    """Hand the built-in packs' declared settings to the settings package (see the docstring
    above): a store then knows them without reading the database."""
    for name in PACKS:
        for entity_type, doc in load_pack(name)["types"].items():
            settings_store.declare_builtin(wfmod.parse(entity_type, doc).settings)


_declare_builtin_settings()

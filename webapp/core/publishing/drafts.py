"""Drafts of a workflow (CONTRACT §10): one per type, a whole definition kept apart from the
one in force, checked statically and against live data before it may be published.

A draft must be a well-formed workflow (the file's schema: 400 naming the bad key otherwise)
but may still have problems (an unreachable state while someone is halfway through an edit):
``check`` lists them and publishing refuses them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.base.transactions import write_transaction
from webapp.core.publishing import diffing, impact
from webapp.core.publishing.versions import in_force
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows import editing
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.registry import WorkflowRegistry
from webapp.models import WorkflowDraft

Document = dict[str, Any]


def definition_of(entity_type: str, sent: Any) -> Document:
    """The definition in a request: a whole export file (``{"pack", "types": {TYPE: …}}``)
    or the type's definition alone; normalised as it would be stored (400 when malformed)."""
    if not isinstance(sent, dict):
        raise InvalidInput("Send the workflow definition as a JSON object.",
                           {"definition": "Send an object, as `workflows export` writes it."})
    if "types" in sent:
        types = sent.get("types")
        if not isinstance(types, dict) or entity_type not in types:
            raise InvalidInput(f"The file has no definition for {entity_type!r}.",
                               {"types": f"Put the definition under types.{entity_type}."})
        extra = sorted(set(types) - {entity_type})
        if extra:
            raise InvalidInput(f"A draft is for one type; the file also has {', '.join(extra)}.",
                               {"types": f"Only {entity_type!r} belongs in this draft."})
        sent = types[entity_type]
    return wfmod.to_document(wfmod.parse(entity_type, sent))


def get(session: Session, entity_type: str) -> WorkflowDraft:
    in_force(session, entity_type)
    draft = session.scalar(select(WorkflowDraft).where(WorkflowDraft.entity_type == entity_type))
    if draft is None:
        raise NotFound(f"There is no draft of the {entity_type!r} workflow; start one with "
                       "PUT …/draft or the editor.")
    return draft


def find(session: Session, entity_type: str) -> WorkflowDraft | None:
    return session.scalar(select(WorkflowDraft).where(WorkflowDraft.entity_type == entity_type))


def put(session: Session, entity_type: str, sent: Any, actor: Actor, now: datetime,
        base_version: int | None = None, renamed: tuple[str, str] | None = None
        ) -> WorkflowDraft:
    """Store (or replace) the type's draft; ``base_version`` defaults to the version in force
    when a draft is started and is kept while it is edited; ``renamed`` (old, new) notes a
    state renamed by this edit."""
    with write_transaction(session):
        row = in_force(session, entity_type)
        doc = definition_of(entity_type, sent)
        draft = find(session, entity_type)
        if draft is None:
            draft = WorkflowDraft(entity_type=entity_type, renames={},
                                  base_version=base_version or row.version)
            session.add(draft)
        elif base_version is not None:
            draft.base_version = base_version
        draft.definition, draft.updated_by, draft.updated_at = doc, actor.name, now
        draft.renames = _renames(dict(draft.renames or {}), renamed, row.definition, doc)
    return draft


def _renames(known: dict[str, str], renamed: tuple[str, str] | None, in_force: Document,
             doc: Document) -> dict[str, str]:
    """{state in force: its name in the draft}, for states in force the draft lacks."""
    if renamed:
        old, new = renamed
        origin = next((k for k, v in known.items() if v == old), old)
        known[origin] = new
    return {k: v for k, v in known.items() if k in in_force["states"]
            and k not in doc["states"] and v in doc["states"]}


def start(session: Session, entity_type: str, actor: Actor, now: datetime) -> WorkflowDraft:
    """The type's draft, started from the workflow in force when there is none."""
    existing = find(session, entity_type)
    if existing is not None:
        return existing
    row = in_force(session, entity_type)
    return put(session, entity_type, row.definition, actor, now, row.version)


def discard(session: Session, entity_type: str) -> None:
    with write_transaction(session):
        session.delete(get(session, entity_type))


def to_dict(draft: WorkflowDraft) -> dict[str, Any]:
    return {"entity_type": draft.entity_type, "base_version": draft.base_version,
            "definition": draft.definition, "renames": draft.renames, "updated_by": draft.updated_by,
            "updated_at": draft.updated_at.isoformat()}


@dataclass
class Check:
    """A draft's problems, and what it would do to the entities there are now."""

    problems: list[str]
    stranded: dict[str, int] = field(default_factory=dict)
    blocked: dict[str, impact.Blocked] = field(default_factory=dict)
    touched: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    diff: diffing.Diff = field(default_factory=diffing.Diff)
    draft: Workflow | None = None

    @property
    def newly_blocked(self) -> dict[str, int]:
        return {action: b.count for action, b in self.blocked.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"problems": self.problems, "stranded": self.stranded,
                "newly_blocked": self.newly_blocked,
                "blocked": {a: b.to_dict() for a, b in self.blocked.items()},
                "touched": self.touched, "warnings": self.warnings,
                "changes": self.diff.sentences}


def check(session: Session, reg: WorkflowRegistry, entity_type: str, doc: Document,
          settings: dict[str, Any], now: datetime) -> Check:
    """Static problems (``editing.problems``: unreachable states, dead ends, unknown names,
    cascade loops) and the live-data check of ``impact``; reads only."""
    workflows = reg.all(session)
    current = reg.get(session, entity_type)
    problems = editing.problems(doc, entity_type, workflows)
    try:
        draft = wfmod.parse(entity_type, doc)
    except InvalidInput:
        return Check(problems)  # the parse error is among them
    across, warnings = impact.relatives(workflows, draft)
    result = Check([*problems, *across], draft=draft, warnings=warnings,
                   diff=diffing.diff(wfmod.to_document(current), doc))
    result.stranded = impact.stranded(session, entity_type, draft, also=list(current.states))
    result.blocked = impact.newly_blocked(session, current, draft, settings, now)
    result.touched = impact.touched(session, current, draft)
    return result

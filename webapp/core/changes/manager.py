"""The StateManager: the one door every status change goes through (one per process).

Each command takes the session and the actor explicitly, writes the entity, its history,
audit and outbox rows in one transaction, commits once, then tells in-process subscribers.
"""
from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import ConcurrencyConflict
from webapp.core.base.events import EventBus
from webapp.core.base.relations import chunked
from webapp.core.base.transactions import write_transaction
from webapp.core.base.words import label
from webapp.core.changes import cascades, entities, history
from webapp.core.changes import writer as changes
from webapp.core.changes.planning import Plan, Validator, plan_moves, resolve_state
from webapp.core.changes.writer import Change
from webapp.core.fields import searchable
from webapp.core.fields.secrets import Keyring
from webapp.core.lists import search
from webapp.core.settings.store import SettingsStore
from webapp.core.workflows import sla_keeping
from webapp.core.workflows.definition import Workflow
from webapp.core.workflows.registry import WorkflowRegistry
from webapp.core.workflows.rules import RuleContext
from webapp.models import Entity, StatusChange, utcnow


@dataclass
class Outcome:
    """What a command did: the entity as it is now, and every entity changed with it."""

    entity: Entity
    cascaded: list[int] = field(default_factory=list)
    correlation_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


class StateManager:
    """One per app: built by the app factory with the app's clock and kept in
    ``app.extensions``; ``get_instance()`` finds the current app's (see ``locate``), and code
    outside any app (core tests, scripts) gets a process-wide one."""

    _fallback: ClassVar[StateManager | None] = None
    _fallback_lock: ClassVar[threading.Lock] = threading.Lock()
    #: How ``get_instance`` finds the current app's manager; the web layer sets it once
    #: (webapp/extensions.py). None outside an app.
    locate: ClassVar[Callable[[], StateManager | None]] = staticmethod(lambda: None)

    def __init__(self, clock: Callable[[], datetime] = utcnow,
                 keyring: Keyring | None = None) -> None:
        self.clock = clock
        self.keyring = keyring or Keyring.ephemeral()  # sensitive fields' keys (fields.secrets)
        self.workflows = WorkflowRegistry()
        self.settings = SettingsStore(declared=self.workflows)
        #: In-process subscribers, called right after each commit in the committing process
        #: (fast; lost if the process dies between the commit and the call).
        self.committed = EventBus()
        #: Outbox subscribers, called by whichever process delivers the outbox (at least once,
        #: also after a crash; ``event["idempotency_key"]`` tells repeats apart).
        self.delivered = EventBus()
        self.vocabulary = search.Vocabulary()
        self._validators: dict[str, list[Validator]] = defaultdict(list)

    @classmethod
    def get_instance(cls) -> StateManager:
        """The current app's manager, or the process's one outside any app."""
        found = cls.locate()
        if found is not None:
            return found
        with cls._fallback_lock:
            if cls._fallback is None:
                cls._fallback = cls()
            return cls._fallback

    @classmethod
    def reset_instance(cls) -> None:
        """Forget the process's fallback instance (tests start each case from a clean one)."""
        with cls._fallback_lock:
            cls._fallback = None

    # -- registration ----------------------------------------------------------------------
    def on_commit(self, entity_type: str, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(event)`` in this process right after each committed change of that
        type ("*": all). Not durable: use ``on_delivery`` for what must not be missed."""
        self.committed.subscribe(entity_type, callback)

    def on_delivery(self, entity_type: str, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(event)`` when the outbox delivers an event of that type ("*": all,
        including events without an entity such as SweepCompleted): at least once, in
        whichever process delivers."""
        self.delivered.subscribe(entity_type, callback)

    def register_validator(self, entity_type: str, validator: Validator) -> None:
        """An extra guard for every move of that type; returns a refusal sentence or None."""
        self._validators[entity_type].append(validator)

    # -- reads -----------------------------------------------------------------------------
    def workflow(self, session: Session, entity_type: str) -> Workflow:
        return self.workflows.get(session, entity_type)

    def get(self, session: Session, entity_id: int) -> Entity:
        return entities.get(session, entity_id)

    def rule_context(self, session: Session, now: datetime, comment: str | None = None,
                     action: str = "", target: str = "") -> RuleContext:
        return RuleContext(session, now, self.settings.all(session), action, target, comment)

    def allowed_transitions(self, session: Session, actor: Actor, entity_id: int) -> list[dict[str, Any]]:
        """Every move out of the current state, and for each blocked one the reasons why."""
        entity = entities.get(session, entity_id)
        wf = self.workflows.get(session, entity.type)
        ctx = self.rule_context(session, self.clock(), comment="(comment)")
        out = []
        for move in wf.transitions_from(entity.status):
            plan = plan_moves(wf, [entity], move.target, actor, ctx, "api",
                              self._validators[entity.type])
            reasons = [m for _, msgs in plan.failures.values() for m in msgs]
            out.append({"action": move.name, "to": move.target, "allowed": not reasons,
                        "reasons": reasons, "comment_required": move.comment_required})
        return out

    # -- commands --------------------------------------------------------------------------
    def create_entity(self, session: Session, actor: Actor, *, source: str = "api",
                      correlation_id: str | None = None, **fields: Any) -> Entity:
        """Create an entity (source ``import`` when a status or activity time is given)."""
        now, cid = self.clock(), correlation_id or _new_id()
        with write_transaction(session):
            entity, events = entities.create(session, self.workflows, actor, now, cid, source, fields,
                                             keyring=self.keyring)
            self.vocabulary.add(session, [entity.name, *searchable.values(
                self.workflows.get(session, entity.type).fields, entity.data)])
            audit.write(session, [audit.AuditRecord(
                actor, "entity.create", entity.type, str(entity.id), after=entities.snapshot(entity),
                correlation_id=cid)], now)
        self.committed.publish(events)
        return entity

    def update_entity(self, session: Session, actor: Actor, entity_id: int, *, version: Any,
                      name: Any = None, data: Any = None, source: str = "api") -> Entity:
        """Rename and/or merge-patch data (RFC 7396), refusing a stale version."""
        now, cid = self.clock(), _new_id()
        with write_transaction(session):
            entity = changes.lock_entity(session, entity_id)
            before = entities.snapshot(entity)
            change = entities.plan_update(self.workflows.get(session, entity.type), entity,
                                          version, name, data, source, keyring=self.keyring)
            if change is None:
                return entity  # nothing changed: nothing to record
            ids = changes.write(session, [change], actor, now, cid)
            self.vocabulary.add(session, [entity.name, *searchable.values(
                self.workflows.get(session, entity.type).fields, entity.data)])
            audit.write(session, [audit.AuditRecord(
                actor, "entity.update", entity.type, str(entity.id), before=before,
                after=entities.snapshot(entity), correlation_id=cid)], now)
        self.committed.publish(_payloads([change], ids, actor, cid))
        return entity

    def transition(self, session: Session, actor: Actor, entity_id: int, to: Any, *,
                   reason: str | None = None, version: int | None = None, source: str = "api",
                   correlation_id: str | None = None) -> Outcome:
        """Move one entity to ``to`` if the workflow, the roles and the rules allow it."""
        now, cid = self.clock(), correlation_id or _new_id()
        with write_transaction(session):
            entity = changes.lock_entity(session, entity_id)
            check_version(entity, version)
            wf = self.workflows.get(session, entity.type)
            plan = self.plan(session, wf, [entity], resolve_state(wf, to), actor, reason, source, now)
            plan.raise_first()
            outcome = self.apply(session, plan.changes, actor, now, cid, "entity.transition")
        self.committed.publish(outcome.events)
        return outcome

    def record_activity(self, session: Session, actor: Actor, entity_id: int,
                        note: str | None = None) -> Outcome:
        """Note activity; an entity the sweep made inactive comes back to active."""
        now, cid = self.clock(), _new_id()
        with write_transaction(session):
            entity = changes.lock_entity(session, entity_id)
            wf = self.workflows.get(session, entity.type)
            reactivation = entities.touch(session, wf, entity, now, note)
            outcome = self.apply(session, reactivation, actor, now, cid, "entity.reactivate",
                                 message=note)
            audit.write(session, [audit.AuditRecord(
                actor, "entity.activity", entity.type, str(entity.id), message=note,
                correlation_id=cid)], now)
        self.committed.publish(outcome.events)
        return Outcome(entity, outcome.cascaded, cid, outcome.events)

    def revert(self, session: Session, actor: Actor, entity_id: int, *, change_id: Any = None,
               at: datetime | None = None, reason: str | None = None, force: bool = False) -> Outcome:
        """Undo one change, or go back to the state at a time, as a new change (source revert)."""
        now, cid = self.clock(), _new_id()
        with write_transaction(session):
            entity = changes.lock_entity(session, entity_id)
            wf = self.workflows.get(session, entity.type)
            change = history.plan_revert(session, wf, entity, change_id, at, reason, force, actor,
                                         keyring=self.keyring)
            if change.new_status != entity.status and not force:
                plan = self.plan(session, wf, [entity], change.new_status, actor, reason, "revert", now)
                plan.raise_first()
            outcome = self.apply(session, [change], actor, now, cid, "entity.revert")
        self.committed.publish(outcome.events)
        return outcome

    # -- shared by bulk work, sweeps and the commands above ------------------------------------
    def plan(self, session: Session, wf: Workflow, batch: Sequence[Entity], target: str,
             actor: Actor, comment: str | None, source: str, now: datetime) -> Plan:
        ctx = self.rule_context(session, now, comment)
        return plan_moves(wf, batch, target, actor, ctx, source, self._validators[wf.entity_type])

    def apply(self, session: Session, planned: Sequence[Change], actor: Actor, now: datetime,
              cid: str, event_type: str, message: str | None = None, audit_each: bool = True,
              events: bool = True) -> Outcome:
        """Write changes and every follow-up (cascades, derived statuses) in waves; audit them.

        ``events=False`` leaves the in-process payloads out of the outcome (the outbox rows
        are written all the same) for callers that publish nothing, such as the sweep."""
        workflows, settings = self.workflows.all(session), self.settings.all(session)
        written: list[Change] = []
        ids: list[int] = []
        # Follow-ups that loop or never end raise CascadeLoop: the caller's transaction then
        # rolls the whole command back, never a part of it.
        waves = cascades.Waves()
        wave = list(planned)
        while wave:
            waves.admit(wave)
            ids += changes.write(session, wave, actor, now, cid)
            written += wave
            wave = cascades.follow_ups(session, workflows, wave, settings)
        first = planned[0].entity if planned else None
        cascaded = [c.entity.id for c in written[len(planned):]]
        if audit_each and planned:
            audit.write(session, [_audit_record(actor, event_type, c, cid, message, cascaded)
                                  for c in planned], now)
        payloads = _payloads(written, ids, actor, cid) if events else []
        return Outcome(first, cascaded, cid, payloads)  # type: ignore[arg-type]


    def move(self, session: Session, ids: Sequence[int], entity_type: str, old: str, new: str,
             actor: Actor, now: datetime, cid: str, *, action: str, source: str,
             reason: str | None, event_type: str) -> tuple[list[int], int]:
        """Move the entities among ``ids`` still in ``old`` to ``new``, unchecked (a migration):
        the ids moved and how many were cascaded. Set-based when nothing can follow the move
        (no cascade, derived status or SLA clock); otherwise row by row through ``apply``."""
        if not (cascades.may_follow(self.workflows.all(session), entity_type, old, new)
                or sla_keeping.moves_a_clock(session, entity_type, old, new)):
            history_ids = changes.move(session, ids, entity_type, old, new, action, source,
                                       reason, actor, now, cid)
            if len(history_ids) == len(ids):
                return sorted(ids), 0
            return _moved_by(session, history_ids), 0
        rows = changes.lock_rows(session, ids)
        planned = [Change(r, new, action, source, reason) for r in rows.values()
                   if r.type == entity_type and r.status == old]
        outcome = self.apply(session, planned, actor, now, cid, event_type, audit_each=False,
                             events=False)
        return [c.entity.id for c in planned], len(outcome.cascaded)


def _moved_by(session: Session, history_ids: Sequence[int]) -> list[int]:
    """The entities of these history rows, ascending."""
    return sorted(i for chunk in chunked(history_ids) for i in session.scalars(
        select(StatusChange.entity_id).where(StatusChange.id.in_(chunk))))


def check_version(entity: Entity, version: Any) -> None:
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int):
        from webapp.core.base.errors import InvalidInput

        raise InvalidInput("version must be a whole number.", {"version": "Send the version you read."})
    if version != entity.version:
        raise ConcurrencyConflict(
            f"{label(entity.type).capitalize()} {entity.id} was changed since you "
            f"read it (your version {version}, current {entity.version}).", version, entity.version)


def _audit_record(actor: Actor, event_type: str, c: Change, cid: str, message: str | None,
                  cascaded: list[int]) -> audit.AuditRecord:
    e = c.entity
    return audit.AuditRecord(
        actor, event_type, e.type, str(e.id),
        before={"status": c.old_status}, after={"status": c.new_status},
        message=message or c.reason, correlation_id=cid,
        extra={"action": c.action, "source": c.source, **({"cascaded": cascaded[:200]} if cascaded else {})})


def _payloads(written: Sequence[Change], ids: Sequence[int], actor: Actor, cid: str) -> list[dict[str, Any]]:
    return [changes.event_payload(c, hid, actor, cid) for c, hid in zip(written, ids, strict=True)]


def _new_id() -> str:
    return str(uuid.uuid4())

"""Plain factory functions: real rows through the real core, committed."""
from __future__ import annotations

import itertools

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core import accounts
from webapp.core.actor import Actor
from webapp.core.manager import StateManager
from webapp.core.transactions import write_transaction
from webapp.models import AuditEntry, Entity, OutboxEvent, StatusChange, User

#: Passes the password policy; every factory-made user has it unless told otherwise.
PASSWORD = "correct-horse-42"
_numbers = itertools.count(1)


def make_user(session: Session, role: str = "support", username: str | None = None,
              password: str = PASSWORD) -> User:
    """Create and commit a user (a unique name like ``support-3`` unless one is given)."""
    with write_transaction(session):
        user = accounts.create_user(session, username or f"{role}-{next(_numbers)}", role,
                                    password)
    return user


def make_token(session: Session, user: User, name: str = "test token") -> str:
    """Create and commit an API token for ``user``; returns the token itself."""
    with write_transaction(session):
        token = accounts.create_token(session, user, name)
    return token


# ------------------------------------------------------------ entities (through the StateManager)
# Used by tests/core (no Flask): each call is one committed StateManager command.

#: The tables every command writes to; ``count_rows`` compares them before and after.
WRITTEN_TABLES = {"entities": Entity, "status_changes": StatusChange,
                  "audit_entries": AuditEntry, "outbox_events": OutboxEvent}


def make_entity(manager: StateManager, session: Session, actor: Actor, type: str,
                name: str | None = None, **fields: object) -> Entity:
    """Create and commit an entity of ``type`` (a unique name unless one is given)."""
    return manager.create_entity(session, actor, type=type,
                                 name=name or f"{type.replace('_', ' ')} {next(_numbers)}",
                                 **fields)


@dataclass
class Realestate:
    """A builder with one community of properties and some sales reps."""

    builder: Entity
    community: Entity
    properties: list[Entity] = field(default_factory=list)
    reps: list[Entity] = field(default_factory=list)


def make_realestate(manager: StateManager, session: Session, actor: Actor,
                    properties: int = 12, reps: int = 2) -> Realestate:
    """A builder, its community with ``properties`` available properties, and ``reps`` reps."""
    builder = make_entity(manager, session, actor, "builder")
    community = make_entity(manager, session, actor, "community", parent_id=builder.id)
    return Realestate(
        builder, community,
        [make_entity(manager, session, actor, "property", parent_id=community.id)
         for _ in range(properties)],
        [make_entity(manager, session, actor, "sales_rep", parent_id=builder.id)
         for _ in range(reps)])


def count_rows(session: Session) -> dict[str, int]:
    """Rows in each table a command writes (entities, history, audit, outbox)."""
    session.rollback()  # a fresh read, not the last transaction's snapshot
    return {name: session.scalar(select(func.count()).select_from(model))
            for name, model in WRITTEN_TABLES.items()}


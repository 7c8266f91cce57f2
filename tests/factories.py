"""Plain factory functions: real rows through the real core, committed."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.users import accounts
from webapp.core.workflows import packs
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


def make_manager(session: Session, clock: Callable[[], datetime], actor: Actor) -> StateManager:
    """A StateManager on ``clock`` with every built-in pack installed (committed)."""
    manager = StateManager(clock=clock)
    with write_transaction(session):
        packs.install_packs(session, manager.workflows, actor, clock())
    return manager


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



def insert_entities(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert entity rows set-based (many at once, without history) and commit, keeping the
    entity counts exact as every writer must (``counts.added``, as the demo seed does)."""
    from webapp.core.changes import counts

    with write_transaction(session):
        session.execute(insert(Entity), rows)
        counts.added(session, rows)


def kept_counts(session: Session) -> dict[tuple[str, str], int]:
    """The entity counts the write path keeps, {(type, status): n}, zeros left out."""
    from webapp.models.entity_count import EntityCount

    session.rollback()  # a fresh read
    return {(t, s): n for t, s, n in session.execute(
        select(EntityCount.type, EntityCount.status, EntityCount.n)) if n}


# ------------------------------------------------------------ webhooks (sweeps & events helper)


def make_subscription(session: Session, url: str = "http://127.0.0.1:9/hooks",
                      event_types: list[str] | None = None, is_active: bool = True):
    """Create (and commit) a webhook subscription through the core; its secret is ``.secret``.

    Loopback receivers are allowed here (as STATEKEEPER_WEBHOOK_ALLOW_PRIVATE=1 does): the
    tests' receivers listen on 127.0.0.1."""
    from webapp.core.events import webhooks
    from webapp.models import utcnow

    admin = Actor("webhook-admin", "admin")
    sub, _secret = webhooks.create_subscription(session, admin, url, event_types or ["*"], utcnow(),
                                                allow_private=True)
    if not is_active:
        webhooks.set_active(session, admin, sub.id, False, utcnow())
    return sub


# ------------------------------------------------------------ audit, users, security (issue 8)


def make_audit_entries(session: Session, count: int, now, actor: Actor | None = None,
                       event_type: str = "test.event", **fields: object) -> list[int]:
    """Write ``count`` chained audit entries through the core (committed); returns their ids."""
    from webapp.core.audit import chain as audit

    actor = actor or Actor("tester", "admin", ip="198.51.100.4")
    with write_transaction(session):
        entries = audit.write(session, [audit.AuditRecord(actor, event_type, **fields)
                                        for _ in range(count)], now)
    return [e.id for e in entries]


def load_packs(session: Session) -> StateManager:
    """Install the built-in workflow packs for the app's StateManager (committed)."""
    from webapp.core.base.actor import SYSTEM
    from webapp.core.workflows import packs as workflow_packs

    manager = StateManager.get_instance()
    with write_transaction(session):
        workflow_packs.install_packs(session, manager.workflows, SYSTEM, manager.clock())
    return manager


class Receiver:
    """A real webhook receiver on loopback (http.server in a thread) that records requests.

    ``answers`` are the status codes to give, in order (then 200). Stop it with ``close()``.
    """

    def __init__(self, answers: list[int] | None = None) -> None:
        import http.server
        import threading

        self.answers = list(answers or [])
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers.items()), body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def make_receiver(answers: list[int] | None = None) -> Receiver:
    return Receiver(answers)

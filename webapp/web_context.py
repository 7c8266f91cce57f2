"""Bridges from a Flask request to the core: the actor, the clock, denials."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import AuditEntry


def current_actor() -> Actor:
    """The signed-in user (or anonymous) with where the request came from."""
    name = current_user.username if current_user.is_authenticated else "anonymous"
    role = current_user.role if current_user.is_authenticated else "anonymous"
    return Actor(name, role, request.remote_addr, request.headers.get("User-Agent"))


def link(endpoint: str, filename: str | None = None) -> str:
    """``url_for(endpoint)``, or a static file's address (``filename``), for an endpoint
    without arguments: built once per app and mount point (``SCRIPT_NAME``), since it is the
    same for every request there. The layout and the list have ~30 such links, which cost
    ~0.6 ms a page through url_for."""
    links = current_app.extensions.setdefault("links", {})
    key = (request.script_root, endpoint, filename)
    found = links.get(key)
    if found is None:
        found = links[key] = (url_for(endpoint, filename=filename) if filename is not None
                              else url_for(endpoint))
    return found


def now() -> datetime:
    """The time by the app's StateManager's clock (the one clock every command uses)."""
    return StateManager.get_instance().clock()


def record_denial(attempted: str) -> None:
    """Audit a permission denial; repeated denials by the same actor raise the risk level."""
    actor = current_actor()
    db.session.rollback()
    with write_transaction(db.session):
        recent = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(
                AuditEntry.event_type == "permission.denied",
                AuditEntry.actor == actor.name,
                AuditEntry.created_at >= now() - timedelta(hours=1),
            )
        )
        risk = "high" if recent >= 10 else "medium" if recent >= 3 else "low"
        audit.write(db.session, [audit.AuditRecord(
            actor, "permission.denied", message=attempted, risk=risk,
            extra={"role": actor.role},
        )], now())


def record_event(event_type: str, message: str, actor: Actor | None = None, risk: str = "low") -> None:
    """Audit something that is not a state change (a login, a failed login, a lockout)."""
    db.session.rollback()
    with write_transaction(db.session):
        audit.write(db.session, [audit.AuditRecord(
            actor or current_actor(), event_type, message=message, risk=risk,
        )], now())

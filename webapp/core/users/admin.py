"""What an administrator does to accounts: create, disable, reset passwords, roles, tokens.

Every command is one audited write transaction. Two guards keep the system manageable:
nobody changes their own role or disables themselves, and the last enabled admin stays one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.capabilities import role_may, roles_with
from webapp.core.base.errors import ID_MAX, InvalidInput, NotFound
from webapp.core.base.transactions import write_transaction
from webapp.core.users import accounts
from webapp.models import ROLES, ApiToken, User

TOKEN_NAME_MAX = 80
#: What each event says in the audit log ("{}" is the account's name).
MESSAGES = {
    "user.create": "created the account {}", "user.enable": "enabled {}",
    "user.disable": "disabled {}", "user.role": "changed the role of {}",
    "user.password_reset": "reset the password of {}",
    "token.create": "created an API token for {}", "token.revoke": "revoked an API token of {}",
}


@dataclass(frozen=True)
class UserRow:
    user: User
    active_tokens: int


def list_users(session: Session) -> list[UserRow]:
    """Every user with their count of unrevoked tokens (accounts are few: no paging)."""
    counts = dict(session.execute(
        select(ApiToken.user_id, func.count()).where(ApiToken.revoked_at.is_(None))
        .group_by(ApiToken.user_id)).all())
    users = session.scalars(select(User).order_by(User.username)).all()
    return [UserRow(u, counts.get(u.id, 0)) for u in users]


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id <= ID_MAX else None
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def tokens(session: Session, user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones too, for the record)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                .order_by(ApiToken.id.desc())))


def create_user(session: Session, actor: Actor, username: str, role: str, password: str,
                now: datetime) -> User:
    with write_transaction(session):
        user = accounts.create_user(session, username, role, password)
        session.flush()
        _audit(session, actor, "user.create", user, now, after={"role": role})
    return user


def set_enabled(session: Session, actor: Actor, user_id: int, enabled: bool,
                now: datetime) -> User:
    """Enable or disable sign-in (a disabled user's sessions and tokens stop working).

    Disabling ends the sessions for good: enabling the account again does not revive them.
    """
    with write_transaction(session):
        user = get_user(session, user_id)
        if not enabled:
            _not_yourself(actor, user, "disable your own account")
            _keep_an_admin(session, user)
            accounts.end_sessions(user)
        before, user.is_enabled = user.is_enabled, enabled
        _audit(session, actor, "user.enable" if enabled else "user.disable", user, now,
               before={"enabled": before}, after={"enabled": enabled})
    return user


def change_role(session: Session, actor: Actor, user_id: int, role: str, now: datetime) -> User:
    """Give the user another role. Their sessions stay: every request reads the role from
    the database, so the new role (a demotion too) applies from their next click."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}.",
                           {"role": f"Choose one of {', '.join(ROLES)}."})
    with write_transaction(session):
        user = get_user(session, user_id)
        _not_yourself(actor, user, "change your own role")
        if not role_may(role, "manage_users"):
            _keep_an_admin(session, user)
        before, user.role = user.role, role
        _audit(session, actor, "user.role", user, now,
               before={"role": before}, after={"role": role})
    return user


def reset_password(session: Session, actor: Actor, user_id: int, password: str,
                   now: datetime) -> User:
    """Set a new password (policy applies), lift any lockout and end the user's sessions
    (the actor's own too, when it is their account: the caller signs them in again)."""
    accounts.check_password_policy(password)
    with write_transaction(session):
        user = get_user(session, user_id)
        accounts.set_password(user, password)
        _audit(session, actor, "user.password_reset", user, now)
    return user


def create_token(session: Session, actor: Actor, user_id: int, name: str,
                 now: datetime) -> str:
    """A new API token for the user; returned once, only its hash is kept."""
    name = (name or "").strip()
    if not name or len(name) > TOKEN_NAME_MAX:
        raise InvalidInput("Name the token.", {"name": f"Use 1 to {TOKEN_NAME_MAX} characters."})
    with write_transaction(session):
        user = get_user(session, user_id)
        token = accounts.create_token(session, user, name)
        _audit(session, actor, "token.create", user, now, after={"label": name})
    return token


def revoke_token(session: Session, actor: Actor, user_id: int, token_id: int,
                 now: datetime) -> ApiToken:
    with write_transaction(session):
        token = session.get(ApiToken, token_id) if 0 < token_id <= ID_MAX else None
        if token is None or token.user_id != user_id:
            raise NotFound(f"No token with id {token_id} for this user.")
        if token.revoked_at is None:
            token.revoked_at = now
            _audit(session, actor, "token.revoke", token.user, now,
                   before={"label": token.name})
    return token


def _not_yourself(actor: Actor, user: User, what: str) -> None:
    if user.username == actor.name:
        raise InvalidInput(f"You cannot {what}.", {"user": "Ask another administrator."})


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to take away the last enabled account that may manage users: nobody could
    give the role back."""
    if not role_may(user.role, "manage_users") or not user.is_enabled:
        return
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role.in_(sorted(roles_with("manage_users"))), User.is_enabled.is_(True),
        User.id != user.id))
    if not others:
        raise InvalidInput("This is the last enabled administrator.",
                           {"user": "Make another user an admin first."})


def _audit(session: Session, actor: Actor, event: str, user: User, now: datetime,
           before: dict | None = None, after: dict | None = None) -> None:
    audit.write(session, [audit.AuditRecord(
        actor, event, "user", str(user.id), before=before, after=after,
        message=MESSAGES[event].format(user.username))], now)

"""Users, passwords, lockout and API tokens: the account rules, without Flask."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.errors import InvalidInput
from webapp.models import ROLES, ApiToken, User

_hasher = PasswordHasher()
PASSWORD_MIN_LENGTH = 10


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the password hasher and return the previous one (tests use argon2's cheapest
    parameters; stored hashes keep their own parameters, so both verify)."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    """Refuse passwords that are too short or all one kind of character."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            "Password too short.",
            {"password": f"Use at least {PASSWORD_MIN_LENGTH} characters."},
        )
    if password.isdigit() or password.isalpha():
        raise InvalidInput("Password too simple.", {"password": "Mix letters with digits or symbols."})


def create_user(session: Session, username: str, role: str, password: str) -> User:
    """Add a user; the caller commits."""
    username = username.strip()
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}.", {"role": f"Choose one of {', '.join(ROLES)}."})
    if not username or len(username) > 80:
        raise InvalidInput("Invalid username.", {"username": "Use 1 to 80 characters."})
    if session.scalar(select(User).where(User.username == username)):
        raise InvalidInput("Username taken.", {"username": f"{username!r} already exists."})
    check_password_policy(password)
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    return user


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    #: "ok", "bad_credentials", "locked", "disabled"
    outcome: str
    locked_until: datetime | None = None


def authenticate(
    session: Session, username: str, password: str, now: datetime,
    max_failures: int, lockout: timedelta,
) -> LoginResult:
    """Check a password, counting failures and locking the account after ``max_failures``."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _hasher.hash(password)  # same cost as a real check: no username probing by timing
        return LoginResult(None, "bad_credentials")
    if user.locked_until and user.locked_until > now:
        return LoginResult(user, "locked", user.locked_until)
    if not _verify(user.password_hash, password):
        return _count_failure(user, now, max_failures, lockout)
    if not user.is_enabled:
        return LoginResult(user, "disabled")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return LoginResult(user, "ok")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(user: User, now: datetime, max_failures: int, lockout: timedelta) -> LoginResult:
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.failed_logins, user.locked_until = 0, now + lockout
        return LoginResult(user, "locked", user.locked_until)
    return LoginResult(user, "bad_credentials")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str) -> str:
    """Store a new token's hash and return the token itself (shown once)."""
    token = "sk_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, name=name[:80], token_hash=_token_hash(token)))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.is_enabled:
        return None
    return row.user

"""Users, passwords, lockout and API tokens: the account rules, without Flask."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput
from webapp.models import ROLES, ApiToken, User

_hasher = PasswordHasher()
PASSWORD_MIN_LENGTH = 10
#: Usernames: plain characters only (no markup, no look-alike letters from other scripts, no
#: spaces), starting with a letter or digit (so a name never reads as a command-line option).
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,79}")
USERNAME_RULE = ("Use 2 to 80 characters: letters a to z, digits, dots, underscores or "
                 "hyphens, starting with a letter or digit.")


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


def generate_password() -> str:
    """A random password the policy accepts (token_urlsafe alone is all letters ~4 % of the
    time, which the policy refuses)."""
    while True:
        password = secrets.token_urlsafe(12)
        if not (password.isdigit() or password.isalpha()):
            return password


def canonical_username(name: str) -> str:
    """The one spelling of a name that is stored and looked up: trimmed, lower case. "Dana"
    and "dana" are one account, and sign-in ignores case."""
    return name.strip().lower()


def user_named(session: Session, name: str) -> User | None:
    """The user of this name, in whatever case it was typed."""
    return session.scalar(select(User).where(User.username == canonical_username(name)))


def create_user(session: Session, username: str, role: str, password: str) -> User:
    """Add a user (the name is stored in its canonical form); the caller commits."""
    username = canonical_username(username)
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}.", {"role": f"Choose one of {', '.join(ROLES)}."})
    if not USERNAME.fullmatch(username):
        raise InvalidInput("Invalid username.", {"username": USERNAME_RULE})
    if user_named(session, username):
        raise InvalidInput("Username taken.", {"username": f"{username!r} already exists."})
    check_password_policy(password)
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    return user


def set_password(user: User, password: str) -> None:
    """A new password (policy applies): lifts any lockout and ends the user's sessions."""
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Sign out every browser session of the user, wherever it is (the caller commits).

    Sessions keep "<id>:<version>" (User.get_id), so a new version refuses them all: whoever
    holds an old cookie (a stolen one, a shared computer) is out. API tokens are separate
    credentials and stay (they are revoked one by one). Incremented in SQL, so two
    concurrent calls make two versions (the new value reads back after the flush).
    """
    user.session_version = User.session_version + 1


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
    """Check a password, counting failures and locking the account after ``max_failures``.

    Every path costs one argon2 computation (an unknown name hashes, a locked account still
    verifies), so the time an answer takes does not tell which names exist or are locked.
    """
    user = user_named(session, username)
    if user is None:
        _hasher.hash(password)
        return LoginResult(None, "bad_credentials")
    password_ok = _verify(user.password_hash, password)
    if user.locked_until and user.locked_until > now:
        return LoginResult(user, "locked", user.locked_until)
    if not password_ok:
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

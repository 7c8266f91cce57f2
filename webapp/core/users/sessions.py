"""Browser sessions kept on the server: a sign-in is a row, a sign-out deletes it.

The session cookie is signed, not stored, so without a row a copy of it taken before
signing out would keep working until it expired. Two switches end sessions, each for its
own reason:

- this module's row ends one browser's session (signing out, signing in over it);
- ``User.session_version`` (accounts.end_sessions) ends all of a user's sessions at once
  (a new password, a disabled account).

A session is valid only while both hold, and for at most ``max_age`` from its sign-in.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from webapp.models.events import Notification
from webapp.models.user import BrowserSession, User

#: A browser session's user id, "<user id>:<session version>" (User.get_id). 18 digits at
#: most: every such number fits the databases' 64-bit integers.
_SESSION_ID = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")
#: What open_session returns: URL-safe base64 of 32 random bytes.
_KEY = re.compile(r"[A-Za-z0-9_-]{43}")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(session: Session, user: User, now: datetime, max_age: timedelta) -> str:
    """Record a new sign-in of ``user`` and return its key for the cookie (the caller
    commits). The user's sessions past ``max_age`` are cleared away on the way."""
    session.execute(delete(BrowserSession).where(
        BrowserSession.user_id == user.id, BrowserSession.created_at < now - max_age))
    key = secrets.token_urlsafe(32)
    session.add(BrowserSession(user_id=user.id, key_hash=_hash(key), created_at=now))
    return key


def close_session(session: Session, key: object) -> None:
    """End the session of this key (the caller commits); an unknown key is a no-op."""
    if isinstance(key, str) and _KEY.fullmatch(key):
        session.execute(delete(BrowserSession).where(BrowserSession.key_hash == _hash(key)))


@dataclass(frozen=True)
class SessionUser:
    """The signed-in person as a browser request sees them: what the pages read of the user
    (``current_user``), without the ORM. A copy: code that changes a user loads the User.

    Loading the User entity cost 370 µs a request against 125 µs for these columns (SQLite,
    BENCHMARKS.md "List page under load"); every signed-in page pays it.
    """

    id: int
    username: str
    role: str
    is_enabled: bool
    session_version: int
    notifications_seen_id: int
    #: The newest notification's id (0: none) as the request began: the bell counts nothing
    #: when it is not above ``notifications_seen_id`` (a query saved on most pages).
    newest_notification_id: int = 0

    # Flask-Login's protocol, as User has it.
    @property
    def is_active(self) -> bool:
        return self.is_enabled

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """"<id>:<session_version>", as User.get_id."""
        return f"{self.id}:{self.session_version}"


_USERS, _SESSIONS = User.__table__.c, BrowserSession.__table__.c
#: Built once, as a Core statement of the table's columns: every signed-in request runs it.
_NEWEST = select(func.coalesce(func.max(Notification.__table__.c.id), 0)).scalar_subquery()
_USER_OF_SESSION = select(*(_USERS[f] for f in list(SessionUser.__dataclass_fields__)[:-1]),
                          _NEWEST).join_from(
    User.__table__, BrowserSession.__table__, _SESSIONS.user_id == _USERS.id).where(
    _USERS.id == bindparam("user_id"), _SESSIONS.key_hash == bindparam("key_hash"),
    _SESSIONS.created_at >= bindparam("since", type_=_SESSIONS.created_at.type))


def user_for_session(session: Session, session_id: str, key: object, now: datetime,
                     max_age: timedelta) -> SessionUser | None:
    """The user a browser session names, or None when the session is no longer valid.

    None for a session signed out (no row for its key), older than ``max_age``, of an
    older version (ended by accounts.end_sessions), of a disabled or deleted account, and
    for ids of another form (a plain "<id>" from before session versions).
    """
    match = _SESSION_ID.fullmatch(session_id)
    if match is None or not isinstance(key, str) or not _KEY.fullmatch(key):
        return None
    row = session.execute(_USER_OF_SESSION, {"user_id": int(match[1]), "key_hash": _hash(key),
                                             "since": now - max_age}).first()
    user = SessionUser(*row) if row is not None else None
    if user is None or not user.is_enabled or user.session_version != int(match[2]):
        return None
    return user

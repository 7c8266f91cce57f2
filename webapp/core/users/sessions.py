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
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

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


def user_for_session(session: Session, session_id: str, key: object, now: datetime,
                     max_age: timedelta) -> User | None:
    """The user a browser session names, or None when the session is no longer valid.

    None for a session signed out (no row for its key), older than ``max_age``, of an
    older version (ended by accounts.end_sessions), of a disabled or deleted account, and
    for ids of another form (a plain "<id>" from before session versions).
    """
    match = _SESSION_ID.fullmatch(session_id)
    if match is None or not isinstance(key, str) or not _KEY.fullmatch(key):
        return None
    user = session.scalar(select(User).join(BrowserSession).where(
        User.id == int(match[1]), BrowserSession.key_hash == _hash(key),
        BrowserSession.created_at >= now - max_age))
    if user is None or not user.is_enabled or user.session_version != int(match[2]):
        return None
    return user

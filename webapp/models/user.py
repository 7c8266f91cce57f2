"""People and API clients: users with one role each, and hashed API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Base, utcnow

ROLES = ("admin", "support", "config_editor", "auditor")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower case (accounts.canonical_username): names that differ only in case are one name.
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: One of ROLES (CONTRACT.md §4).
    role: Mapped[str] = mapped_column(String(20))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    #: Wrong passwords in a row; reset on success, drives the lockout.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    #: Newest notification id this user has seen (the bell counts what is above it).
    notifications_seen_id: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Part of every browser session's id (get_id): raising it signs out every session made
    #: before at once (Flask-Login's "alternative tokens"; see accounts.end_sessions). One
    #: browser's sign-out ends its own BrowserSession row instead.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    # Flask-Login's protocol, written out so models do not import Flask.
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
        """What the session cookie keeps: "<id>:<session_version>" (accounts.user_for_session)."""
        return f"{self.id}:{self.session_version}"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class BrowserSession(Base):
    """One browser's sign-in. The cookie names it by a random key; signing out deletes the
    row, so a copy of the cookie (kept, stolen) is worth nothing after it."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the key the cookie holds (the database alone cannot make a valid cookie).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: A sign-in lasts at most the session lifetime from here (sessions.max_age).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Plain factory functions: real rows through the real core, committed."""
from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from webapp.core import accounts
from webapp.core.transactions import write_transaction
from webapp.models import User

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


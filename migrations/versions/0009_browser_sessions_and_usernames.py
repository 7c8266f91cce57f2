"""browser_sessions (a sign-out ends the session on the server); usernames in lower case

- browser_sessions: one row per browser sign-in (core/users/sessions.py). Sessions from
  before this revision have no row, so everyone signs in once after the upgrade.
- users.username: stored lower case from now on ("Dana" and "dana" are one name, sign-in
  ignores case). Existing names are lowered. Where two differ only in case, the name
  already in lower case (else the oldest account) keeps it; each other one becomes
  "<name>-<id>" and the log says so (WARNING), so an administrator can tell those people.
  Names outside the new character set (accounts.USERNAME) are kept, lowered, and listed in
  the log: they still sign in, only new names must fit.

The downgrade drops browser_sessions; names stay lower case (the old case is not kept).

Revision ID: 0009
Revises: 0008
"""
import logging
import re

import sqlalchemy as sa
from alembic import op

import webapp.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: Not under "alembic": env.py's fileConfig empties the handlers of alembic's loggers, and
#: the warnings must reach whoever runs the upgrade (and the tests).
log = logging.getLogger("statekeeper.migrations")
#: accounts.USERNAME as of this revision (a migration does not follow later code changes).
_PLAIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,79}")
_users = sa.table("users", sa.column("id", sa.Integer), sa.column("username", sa.String))


def upgrade():
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", webapp.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_browser_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_browser_sessions_key_hash")),
    )
    with op.batch_alter_table("browser_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_browser_sessions_user_id"), ["user_id"],
                              unique=False)
    _lower_usernames(op.get_bind())


def downgrade():
    with op.batch_alter_table("browser_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_browser_sessions_user_id"))
    op.drop_table("browser_sessions")


def _lower_usernames(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(_users.c.id, _users.c.username).order_by(_users.c.id)).all()
    # In any order: no new name is held by another row meanwhile (a name held now is in
    # lower case among `taken`, which renaming avoids; a keeper's is its group's own).
    for user_id, name in _lowered(rows).items():
        conn.execute(_users.update().where(_users.c.id == user_id).values(username=name))
    for user_id, name in rows:
        if not _PLAIN.fullmatch(name.lower()):
            log.warning("username %r (user %s) has characters new names may not have; it "
                        "still signs in", name.lower(), user_id)


def _lowered(rows) -> dict[int, str]:
    """user id -> its new name, for every name that changes."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for user_id, name in rows:
        groups.setdefault(name.lower(), []).append((user_id, name))
    taken = set(groups)
    changes = {}
    for lower, members in groups.items():
        keeper = next((m for m in members if m[1] == lower), members[0])
        if keeper[1] != lower:
            changes[keeper[0]] = lower
        for user_id, name in members:
            if user_id == keeper[0]:
                continue
            changes[user_id] = renamed = _free(f"{lower[:70]}-{user_id}", taken)
            taken.add(renamed)
            log.warning("username %r (user %s) became %r: %r differs from it only in case",
                        name, user_id, renamed, keeper[1])
    return changes


def _free(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate

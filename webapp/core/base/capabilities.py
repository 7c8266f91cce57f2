"""Who may do what (CONTRACT.md §4): the one table of capabilities and the roles holding them.

The web layer checks a request against it (``webapp/permissions.py``); core commands that
decide by role themselves (a forced revert, keeping an administrator) ask the same table
through ``Actor.may`` instead of comparing role names.
"""
from __future__ import annotations

from webapp.models import ROLES

ALL = frozenset(ROLES)
CAPABILITIES: dict[str, frozenset[str]] = {
    "view": ALL,
    "operate": frozenset({"admin", "support"}),
    "revert": frozenset({"admin", "support"}),
    #: Revert a change or undo a bulk operation although the workflow has no way back.
    "force": frozenset({"admin"}),
    "configure": frozenset({"admin", "config_editor"}),
    "edit_workflows": frozenset({"admin", "config_editor"}),
    "audit": frozenset({"admin", "auditor"}),
    "manage_users": frozenset({"admin"}),
}


def roles_with(capability: str) -> frozenset[str]:
    """The roles holding ``capability``; a misspelt capability is an error, not "nobody"."""
    try:
        return CAPABILITIES[capability]
    except KeyError:
        raise ValueError(f"unknown capability {capability!r}") from None


def role_may(role: str | None, capability: str) -> bool:
    return role in roles_with(capability)

"""Who is asking: passed explicitly into every core command."""
from __future__ import annotations

from dataclasses import dataclass

from webapp.core.base.capabilities import role_may


@dataclass(frozen=True)
class Actor:
    name: str
    #: admin, support, config_editor, auditor (a system actor acts as admin)
    role: str
    ip: str | None = None
    user_agent: str | None = None

    def may(self, capability: str) -> bool:
        """Whether the actor's role holds ``capability`` in the one table (CONTRACT.md §4)."""
        return role_may(self.role, capability)


SYSTEM = Actor("system", "admin")
SWEEPER = Actor("sweeper", "admin")

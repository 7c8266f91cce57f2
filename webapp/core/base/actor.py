"""Who is asking: passed explicitly into every core command."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    #: admin, support, config_editor, auditor (a system actor acts as admin)
    role: str
    ip: str | None = None
    user_agent: str | None = None


SYSTEM = Actor("system", "admin")
SWEEPER = Actor("sweeper", "admin")

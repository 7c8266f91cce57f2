"""What the entities views share: the manager, the workflows, and what the role may use."""
from __future__ import annotations

from flask import current_app

from webapp.core.changes.manager import StateManager
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.permissions import can


def manager() -> StateManager:
    return StateManager.get_instance()


def workflows() -> dict[str, Workflow]:
    return manager().workflows.all(db.session)


def bulk_available() -> bool:
    """The bulk pages are another area's; offer the hand-over only once they exist."""
    return "bulk.new" in current_app.view_functions and can("operate")

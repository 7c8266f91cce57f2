"""Entity data as the person asking may see it (CONTRACT §7): sensitive fields in full for the
roles that may operate (admin, support), masked (``••••`` and at most the last 4 characters)
for everyone else.

The API's entity and history JSON, the pages (the template filters ``visible`` and
``visible_meta``) and the CSV export read data through here, so no view shows stored (sealed)
values, or plaintext to the wrong role, on its own.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g

from webapp.core.changes import entities, history
from webapp.core.changes.manager import StateManager
from webapp.core.fields.secrets import Keyring
from webapp.core.timing import slas as sla_readings
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.models import Entity, StatusChange
from webapp.permissions import can


class DataView:
    """One person's view of data, for one request (the workflows read once)."""

    def __init__(self, may_see: bool, keyring: Keyring, workflows: Mapping[str, Workflow]) -> None:
        self.may_see = may_see
        self.keyring = keyring
        self.workflows = workflows

    def specs(self, entity_type: str) -> Mapping[str, Any]:
        wf = self.workflows.get(entity_type)
        return wf.fields if wf is not None else {}

    def data(self, entity_type: str, data: Any) -> dict[str, Any]:
        """A type's data, sensitive values opened or masked."""
        return self.keyring.view_for(self.may_see, self.specs(entity_type), data or {})

    def meta(self, entity_type: str, meta: Any) -> dict[str, Any]:
        """A history row's metadata, its data diff shown as ``data`` shows data."""
        return self.keyring.view_meta(self.may_see, self.specs(entity_type), meta or {})

    def entity(self, e: Entity, slas: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The contract's entity JSON (CONTRACT §6) with its SLA clocks now (§8; ``slas``
        when read already for a page, see ``slas``)."""
        return {**entities.to_dict(e), "data": self.data(e.type, e.data),
                "slas": self.slas([e])[e.id] if slas is None else slas}

    def slas(self, rows: Any) -> dict[int, list[dict[str, Any]]]:
        """The SLA items of a page of entities, in one query."""
        return sla_readings.readings(db.session, self.workflows, rows,
                                     StateManager.get_instance().clock())

    def change(self, c: StatusChange, entity_type: str) -> dict[str, Any]:
        """The contract's history item (CONTRACT §6)."""
        return {**history.to_dict(c), "metadata": self.meta(entity_type, c.meta)}


def data_view() -> DataView:
    """The current request's view: made on first use, then kept for the request."""
    view = g.get("data_view")
    if view is None:
        manager = StateManager.get_instance()
        view = g.data_view = DataView(can("operate"), manager.keyring,
                                      manager.workflows.all(db.session))
    return view


def visible(data: Any, entity_type: str) -> dict[str, Any]:
    """Template filter: ``{{ entity.data|visible(entity.type) }}``."""
    return data_view().data(entity_type, data)


def visible_meta(meta: Any, entity_type: str) -> dict[str, Any]:
    """Template filter: ``{% set meta = c.meta|visible_meta(entity.type) %}``."""
    return data_view().meta(entity_type, meta)

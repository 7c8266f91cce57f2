"""Events: past-tense facts (StatusChanged, EntityCreated, ...) and the in-process bus.

Each event is written to the outbox in the same transaction as the change it reports. Then it
reaches subscribers two ways, both registered on the StateManager: ``on_commit`` callbacks run
in the committing process right after the commit (not durable), and ``on_delivery`` callbacks
run when the outbox is delivered (at least once; events/delivery.py). Commands are the
StateManager's methods (``transition``, ``create_entity``, ...) and the bulk and sweep
functions, not classes. Other packages name their own events beside their code
(``SweepCompleted`` in sweeps/runs.py, the webhook events in events/webhooks.py).
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from webapp.models import OutboxEvent

log = logging.getLogger(__name__)

STATUS_CHANGED = "StatusChanged"
ENTITY_CREATED = "EntityCreated"
ENTITY_UPDATED = "EntityUpdated"
ENTITY_WARNED = "EntityWarned"

Callback = Callable[[dict[str, Any]], None]


def idempotency_key() -> str:
    """A new outbox row's key: a time-ordered UUID (version 7: milliseconds since 1970, then
    74 random bits). Keys made together sort together, so the unique index on them grows at
    its end instead of at random pages (half the cost of a mass move's outbox rows on SQLite:
    bench/publish.py); the database makes the same form (statements.py)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) \
        | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def outbox_row(event_type: str, entity_id: int | None, payload: dict[str, Any],
               now: datetime) -> dict[str, Any]:
    """Column values for one outbox row (inserted in sets by the caller)."""
    return {
        "event_type": event_type, "entity_id": entity_id, "payload": payload,
        "idempotency_key": idempotency_key(), "created_at": now, "state": "pending",
        "attempts": 0, "next_attempt_at": now,
    }


def outbox_table():
    return OutboxEvent.__table__


class EventBus:
    """In-process subscribers per entity type ("*" for all), called after the commit."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callback]] = defaultdict(list)

    def subscribe(self, entity_type: str, callback: Callback) -> None:
        self._subscribers[entity_type].append(callback)

    def unsubscribe_all(self) -> None:
        self._subscribers.clear()

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Hand each event to its subscribers; one failing subscriber never stops the rest."""
        for event in events:
            for callback in (*self._subscribers.get(event.get("type", ""), ()),
                             *self._subscribers.get("*", ())):
                try:
                    callback(event)
                except Exception:  # a subscriber's bug must not undo a committed change
                    log.exception("subscriber %r failed on %s", callback, event.get("event"))

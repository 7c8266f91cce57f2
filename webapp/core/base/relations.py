"""Walking the parent/child tree in sets: one query per level, chunked, never one per entity."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.models import Entity

T = TypeVar("T")
CHUNK = 5000


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def descendants(
    session: Session, root_ids: Iterable[int], path: Sequence[str],
    states: Sequence[str] | None = None,
) -> dict[int, list[tuple[int, str]]]:
    """For each root, the (id, status) of its relatives reached along ``path`` of types.

    ``path=("community", "property")`` from builders gives each builder's properties.
    ``states`` filters the last level.
    """
    owner = {rid: rid for rid in root_ids}  # entity id -> the root it descends from
    found: dict[int, list[tuple[int, str]]] = {rid: [] for rid in owner}
    for depth, type_ in enumerate(path):
        last = depth == len(path) - 1
        rows = _children(session, list(owner), type_, states if last else None)
        if last:
            for child_id, parent_id, status in rows:
                found[owner[parent_id]].append((child_id, status))
        else:
            owner = {child_id: owner[parent_id] for child_id, parent_id, _ in rows}
    return found


def _children(session: Session, parent_ids: list[int], type_: str,
              states: Sequence[str] | None) -> list[tuple[int, int, str]]:
    rows: list[tuple[int, int, str]] = []
    for chunk in chunked(parent_ids):
        stmt = select(Entity.id, Entity.parent_id, Entity.status).where(
            Entity.parent_id.in_(chunk), Entity.type == type_)
        if states:
            stmt = stmt.where(Entity.status.in_(states))
        rows.extend(tuple(row) for row in session.execute(stmt))
    return rows

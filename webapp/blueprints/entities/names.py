"""Entities named by people: what a reference or parent input holds ("Maple Ridge (#12)", or
just a name), what it suggests as one types, and the names to show for stored ids."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.errors import ID_MAX
from webapp.core.base.words import label, pluralize
from webapp.core.lists import listing, search
from webapp.models import Entity

#: "Maple Ridge (#12)" (what the suggestions put in a reference's input), "#12" or "12".
_NAMED_ID = re.compile(r"^(?:(?P<name>.*\S)\s+)?\(?#(?P<id>\d{1,10})\)?$|^(?P<bare>\d{1,10})$")


class Names:
    """Entities by name for reference inputs (and names by id to show in them)."""

    def __init__(self, session: Session, vocabulary: search.Vocabulary) -> None:
        self.session, self.vocabulary = session, vocabulary

    def entity_id(self, entity_type: str, text: str) -> int:
        """The id ``text`` names: ``Maple Ridge (#12)``, ``#12``, or a name only one has (a
        name of digits, like a plot number, is tried as an id first)."""
        named = _NAMED_ID.match(text)
        if named:
            entity_id = int(named["id"] or named["bare"])
            found = self.session.get(Entity, entity_id) if 0 < entity_id <= ID_MAX else None
            if found is not None and found.type == entity_type:
                return entity_id
            if named["id"] and named["name"] is None:
                raise LookupError(f"No {label(entity_type)} has the id {entity_id}.")
            text = named["name"] or text
        return self._by_name(entity_type, text)

    def _by_name(self, entity_type: str, name: str) -> int:
        ids = self.session.scalars(select(Entity.id).where(
            Entity.type == entity_type, Entity.name == name).limit(2)).all()
        if not ids:  # "maple ridge" for "Maple Ridge": the (indexed) exact match missed
            ids = [e.id for e in self._similar(entity_type, name)
                   if e.name.casefold() == name.casefold()][:2]
        if not ids:
            raise LookupError(f"No {label(entity_type)} is named “{name}”.")
        if len(ids) > 1:
            raise LookupError(f"Several {pluralize(entity_type)} are named “{name}”: "
                              "choose one from the suggestions (they show the id).")
        return ids[0]

    def _similar(self, entity_type: str, text: str, limit: int = 20) -> list[Any]:
        found = listing.browse(self.session, self.vocabulary,
                               listing.Filters(type=entity_type, q=text), limit=limit,
                               summaries=True)
        return found.rows

    def suggestions(self, entity_type: str, text: str, limit: int = 10) -> list[str]:
        """What a reference input offers as one types: ``Name (#id)``, best matches first."""
        if not text.strip():
            return []
        return [labelled(row.id, row.name) for row in self._similar(entity_type, text, limit)]

    def names(self, ids: set[int]) -> dict[int, str]:
        ids = {i for i in ids if 0 < i <= ID_MAX}
        if not ids:
            return {}
        rows = self.session.execute(select(Entity.id, Entity.name).where(Entity.id.in_(ids)))
        return {entity_id: name for entity_id, name in rows}


def labelled(entity_id: int, name: str | None) -> str:
    return f"{name} (#{entity_id})" if name else f"#{entity_id}"

"""Search across every type (CONTRACT §11): the header's search box and ``GET /api/v1/search``.

The same typo-tolerant index as the lists' search (search.py: corrected words, FTS5 trigram on
SQLite, entity_words on PostgreSQL) finds the candidates, newest first, up to CANDIDATES; each
is then scored by how well its name matches what was typed, in words a person would rank:
the whole name typed (100), the name starting with it, every word of it starting a word of the
name, then how close the name is (rapidfuzz); ties go to the most recently active. Taking the
newest CANDIDATES matches bounds the cost at 1,000,000 entities (a page of ids off the index
and one row read each); an old entity among thousands of newer matches of a common word is
found by typing more of its name, as in any search box.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput
from webapp.core.lists import listing, search

#: Matches scored per query (newest first off the index).
CANDIDATES = 200
LIMIT_MAX = 50
QUERY_MAX = 200


@dataclass(frozen=True)
class Hit:
    id: int
    type: str
    name: str
    status: str
    score: float
    last_activity_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "name": self.name, "status": self.status,
                "score": self.score}


def check(q: Any, limit: Any) -> tuple[str, int]:
    """The query and limit as given to the API (400 naming a bad one)."""
    if not isinstance(q, str) or len(q) > QUERY_MAX:
        raise InvalidInput("q is too long.", {"q": f"At most {QUERY_MAX} characters."})
    if limit in (None, ""):
        return q, 10
    try:
        number = int(str(limit))
    except ValueError as exc:
        raise InvalidInput("limit must be a number.", {"limit": f"1 to {LIMIT_MAX}."}) from exc
    if not 1 <= number <= LIMIT_MAX:
        raise InvalidInput("limit out of range.", {"limit": f"Use 1 to {LIMIT_MAX}."})
    return q, number


def find(session: Session, vocabulary: search.Vocabulary, q: str, limit: int = 10,
         types: set[str] | None = None) -> list[Hit]:
    """The best ``limit`` entities for ``q`` across every type (or ``types``)."""
    typed = " ".join(search.words(q))
    if not typed:
        return []
    found = listing.browse(session, vocabulary, listing.Filters(q=q), listing.Sort(),
                           CANDIDATES, summaries=True)
    corrected = " ".join(found.words) or typed
    hits = [Hit(r.id, r.type, r.name, r.status, _score(typed, corrected, r.name),
                r.last_activity_at) for r in found.rows if types is None or r.type in types]
    hits.sort(key=lambda h: (-h.score, -h.last_activity_at.timestamp(), -h.id))
    return hits[:limit]


def _score(typed: str, corrected: str, name: str) -> float:
    """How well ``name`` answers what was typed, 0-100 (rounded to one decimal)."""
    folded = " ".join(search.words(name))
    best = 0.0
    for query in {typed, corrected}:
        if folded == query:
            return 100.0
        if folded.startswith(query):
            best = max(best, 95.0)
        elif _word_starts(query, folded):
            best = max(best, 90.0)
        best = max(best, 0.85 * fuzz.ratio(query, folded))
    if corrected != typed:
        best -= 5.0  # a typo was corrected: a little less sure
    return round(max(best, 0.0), 1)


def _word_starts(query: str, name: str) -> bool:
    """Every query word starts some word of the name ("map rid" in "maple ridge")."""
    name_words = name.split()
    return all(any(w.startswith(q) for w in name_words) for q in query.split())

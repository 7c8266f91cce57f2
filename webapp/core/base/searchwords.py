"""The words of what the search indexes hold (names, searchable field values) and of queries,
split alike, and the vocabulary table of them that typo correction reads (core/lists/search.py).

Hyphens, apostrophes and full stops inside a word are folded away first, in the query and in
what the indexes hold (migrations 0013 and 0020 spell the same characters in SQL;
tests/integration/test_search_folding.py checks they agree), so "wifi", "Wi-Fi" and "WiFi"
are one word. Other punctuation separates words.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from webapp.models import SearchWord

WORD = re.compile(r"\w+", re.UNICODE)
#: Shorter words have no trigram: the indexes and the vocabulary leave them out.
MIN_TRIGRAM = 3
#: Characters that join the parts of one word ("Wi-Fi", "O'Brien", "St.Mary").
FOLDED = "-\u2010\u2011'\u2019\u02bc."
_FOLD = str.maketrans("", "", FOLDED)
_CHUNK = 5000


def fold(text_: str) -> str:
    """The text without the characters that join the parts of a word: "Wi-Fi" -> "WiFi"."""
    return (text_ or "").translate(_FOLD)


def words(text_: str) -> list[str]:
    return [w.lower() for w in WORD.findall(fold(text_))]


def add_words(session: Session, texts: Iterable[str]) -> bool:
    """Add the words of these texts to the vocabulary table (inside the caller's transaction);
    False when they have no word to index. ``Vocabulary.add`` also refreshes a cache."""
    new = sorted({w for t in texts for w in words(t) if len(w) >= MIN_TRIGRAM})
    if not new:
        return False
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(new), _CHUNK):
        stmt = insert(SearchWord).on_conflict_do_nothing(index_elements=["word"])
        session.execute(stmt, [{"word": w} for w in new[start:start + _CHUNK]])
    return True

"""Typo-tolerant name search on the database's own indexes.

SQLite uses an FTS5 table with the trigram tokenizer (migration 0002). PostgreSQL pages
newest first through entity_words, (word, entity id) for every name word (migration 0006,
kept by a trigger), with a query word expanded to the vocabulary words containing it; a pg_trgm
GIN index (0002) serves the other sorts and words too short or too common to expand. A query
word that is not in the vocabulary of indexed words is first corrected to a close vocabulary word
(rapidfuzz), so "Acne Hmes" finds "Acme Homes"; among equally close corrections, one that finds
something wins ("Medow Lnae": "meadow lane", not the "meadow lake" nobody is named).

Hyphens, apostrophes and full stops inside a word are folded away, in the query and in what the
indexes hold (migration 0013), so "wifi", "Wi-Fi" and "WiFi" are one word (base/searchwords.py).

The indexes hold each entity's name and the values of its type's ``searchable`` fields
(migration 0020, fields/searchable.py), so a query finds "Maple Ridge" in an address too.
"""
from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session

from webapp.core.base.searchwords import FOLDED, MIN_TRIGRAM, WORD, add_words, fold, words
from webapp.models import Entity, SearchWord

__all__ = ["FOLDED", "MIN_TRIGRAM", "WORD", "add_words", "fold", "words"]

SCORE_CUTOFF = 70
#: How many corrections of each misspelt word are weighed, and how many combinations of them
#: are tried against the index before the closest one is taken whether it finds anything or not.
ALTERNATIVES = 3
TRIES = 6


class Vocabulary:
    """The indexed words, cached in process and reloaded when the table grows.

    Whether it grew is asked at most every CHECK_SECONDS (a count of the table: 3-12 ms on
    PostgreSQL, and a list page searches twice), and at once after this process added words;
    words added by other processes are seen within CHECK_SECONDS.
    """

    CHECK_SECONDS = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = -1
        self._added = 0  # bumped when words are added through this vocabulary
        self._checked = (-1, float("-inf"))  # (_added, monotonic time) of the last count
        self._sorted: list[str] = []
        self._lettered: list[str] = []  # the words that are not all digits
        self._blob = ""
        self._set: frozenset[str] = frozenset()

    def load(self, session: Session) -> None:
        added, at = self._checked
        if added == self._added and time.monotonic() - at < self.CHECK_SECONDS:
            return
        with self._lock:  # the next reader waits for the words rather than see none
            checked = (self._added, time.monotonic())
            size = session.scalar(select(func.count()).select_from(SearchWord)) or 0
            if size != self._size:
                self._sorted = sorted(session.scalars(select(SearchWord.word)))
                self._lettered = [w for w in self._sorted if not w.isdigit()]
                self._set, self._size = frozenset(self._sorted), size
                self._blob = "\n".join(self._sorted)
            self._checked = checked

    def add(self, session: Session, names: Iterable[str]) -> None:
        """Index the names' words; this vocabulary looks again at its next load."""
        if add_words(session, names):
            self._added += 1

    def correct(self, word: str) -> str:
        """The word itself when indexed (or a prefix of an indexed word), else the nearest."""
        return self.corrections(word)[0][0]

    def corrections(self, word: str, limit: int = 1) -> list[tuple[str, float]]:
        """Up to ``limit`` (word, score) candidates, closest first: the word itself (score 100)
        when indexed or a prefix of an indexed word, or when nothing is close enough."""
        if len(word) < MIN_TRIGRAM or word in self._set or self._is_prefix(word):
            return [(word, 100.0)]
        # A word without digits shares no character with a number, so no number scores above
        # 0 for it: numbers (house numbers, 99.8 % of the demo data's 75,000 words) are left
        # out of its candidates, 5.6 -> 0.05 ms a word at 1,000,000 entities.
        candidates = self._sorted if any(c.isdigit() for c in word) else self._lettered
        found = process.extract(word, candidates, scorer=fuzz.ratio, score_cutoff=SCORE_CUTOFF,
                                limit=limit)
        return [(w, score) for w, score, _ in found] or [(word, 0.0)]

    def containing(self, word: str) -> list[str]:
        """The vocabulary words that contain ``word`` (a name contains a query word of 3+
        letters exactly when one of its words does)."""
        # One C-level find per hit over all the words joined by newlines (words have none):
        # a tenth of the time of testing each of ~50,000 words.
        blob, found = self._blob, []
        at = blob.find(word)
        while at != -1:
            start, end = blob.rfind("\n", 0, at) + 1, blob.find("\n", at)
            end = len(blob) if end == -1 else end
            found.append(blob[start:end])
            at = blob.find(word, end)
        return found

    def _is_prefix(self, word: str) -> bool:
        i = bisect.bisect_left(self._sorted, word)
        return i < len(self._sorted) and self._sorted[i].startswith(word)


def corrected(session: Session, vocabulary: Vocabulary, query: str) -> list[str]:
    """The query's words, each misspelt one corrected: to the closest combination of
    corrections that some name holds, else to the closest (which then finds nothing)."""
    vocabulary.load(session)
    options = [vocabulary.corrections(w, ALTERNATIVES) for w in words(query)]
    if all(len(o) == 1 and o[0][1] == 100.0 for o in options):
        return [o[0][0] for o in options]  # nothing misspelt: no query to ask
    combos = sorted(itertools.product(*options), key=lambda c: -sum(score for _, score in c))
    for combo in combos[:TRIES]:
        if _finds_any(session, vocabulary, [w for w, _ in combo]):
            return [w for w, _ in combo]
    return [w for w, _ in combos[0]]


def _finds_any(session: Session, vocabulary: Vocabulary, query_words: list[str]) -> bool:
    """Whether some entity's name holds every word (off the search index, one row at most)."""
    short = [w for w in query_words if len(w) < MIN_TRIGRAM]
    base = select(Entity).where(name_filter(session, short)) if short else select(Entity)
    match = ordered_match(session, query_words)
    expansions = None if match else word_expansions(session, vocabulary, query_words)
    if match is not None:
        stmt = fts_ids(base, match, True, None).limit(1)
    elif expansions is not None:
        stmt = word_ids(base, None, expansions, True, None, 1)
    else:
        stmt = select(Entity.id).where(name_filter(session, query_words)).limit(1)
    return session.execute(stmt).first() is not None


def name_filter(session: Session, query_words: list[str]) -> ColumnElement[bool]:
    """A WHERE clause matching entities whose name contains every query word."""
    long_words = [w for w in query_words if len(w) >= MIN_TRIGRAM]
    short = [Entity.name.ilike(f"%{_escape_like(w)}%", escape="\\") for w in query_words
             if len(w) < MIN_TRIGRAM]
    if session.get_bind().dialect.name == "postgresql":
        # The expression of the trigram index (migration 0013): the name, lower case, folded.
        # Spelt as literals, not bound: the planner matches an index expression only to the
        # same constants.
        folded = func.translate(func.lower(Entity.name), literal_column(_sql_text(FOLDED)),
                                literal_column("''"))
        clauses = [folded.like(f"%{_escape_like(w)}%", escape="\\") for w in long_words]
        return and_(*clauses, *short) if clauses or short else text("1=1")
    clauses = list(short)
    if long_words:
        clauses.append(Entity.id.in_(
            select(text("rowid")).select_from(text("entity_search"))
            .where(text("entity_search MATCH :expr").bindparams(expr=_fts_query(long_words)))))
    return and_(*clauses) if clauses else text("1=1")


_FTS = table("entity_search", column("rowid"))


def ordered_match(session: Session, query_words: list[str], type_: str | None = None
                  ) -> tuple[Any, ColumnElement[bool]] | None:
    """On SQLite, for a query with words of 3+ letters: the FTS table's rowid and its MATCH
    condition, for a page that joins the index and orders by that rowid. FTS5 then walks its
    matches newest first and stops after one page, where ``entity_id IN (all matches)`` made
    SQLite collect every match of a common word first (bench/search.py: 75,000 for
    "building", 67 ms -> 1 ms). With a type, the type column of the index must match too
    (migration 0008): FTS5 intersects the two in rowid order, where checking each match's
    type read every match of the other types first ("building" among properties, none: 110 ->
    6 ms). The type in the index is trigrams, so callers still check it exactly. None where
    name_filter is the way (PostgreSQL, short words)."""
    long_words = [w for w in query_words if len(w) >= MIN_TRIGRAM]
    if session.get_bind().dialect.name != "sqlite" or not long_words:
        return None
    by_type = type_ and len(type_) >= MIN_TRIGRAM  # a shorter one has no trigram to match
    expr = _fts_query(long_words) + (f" AND type : {_fts_phrase(type_)}" if by_type else "")
    return _FTS.c.rowid, text("entity_search MATCH :expr").bindparams(expr=expr)


def _fts_query(long_words: list[str]) -> str:
    """An FTS5 query for names containing every word (the index also has the type column)."""
    return " AND ".join(f"name : {_fts_phrase(w)}" for w in long_words)


def _fts_phrase(text_: str) -> str:
    return '"' + text_.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: PostgreSQL's id-ordered word index (migrations 0006, 0008): (word, entity type, entity_id)
#: for every name word, indexed by (word, entity_id) and by (type, word, entity_id).
ENTITY_WORDS = table("entity_words", column("word"), column("type"), column("entity_id"))
#: Up to this many vocabulary words containing the rarest query word, the word index is read
#: with one UNION branch per word; more (up to EXPANSIONS_MAX) are read by one branch joined
#: LATERAL to the list of words, whose plan does not grow with it. LATERAL for every query
#: was slower (header search at 1,000,000: p50 9.7 against 8.2 ms, p95 18.4 against 16.9).
BRANCHES_MAX = 64
#: More vocabulary words than this containing the rarest query word (e.g. "ing"): reading each
#: one's entries costs more than the trigram filter, which such queries keep. Names made of
#: identifiers fill the vocabulary with words: 10,000 feature flags named like
#: "api.new_flow_990029" gave "pine" 197 containing words; with 64 as the limit its page walked
#: the whole table (705 ms at 1,000,000 entities; 1.9 ms through the word index).
EXPANSIONS_MAX = 2000


def word_expansions(session: Session, vocabulary: Vocabulary,
                    query_words: list[str]) -> list[list[str]] | None:
    """On PostgreSQL, for a query with words of 3+ letters: for each such word, the indexed
    words containing it, rarest first, to walk ENTITY_WORDS newest first (``word_ids``). None
    where name_filter is the way (SQLite has FTS5; short words; too many expansions)."""
    long_words = [w for w in query_words if len(w) >= MIN_TRIGRAM]
    if session.get_bind().dialect.name != "postgresql" or not long_words:
        return None
    vocabulary.load(session)  # already loaded by corrected(), unless the words came from elsewhere
    found = sorted((vocabulary.containing(w) for w in long_words), key=len)
    return None if len(found[0]) > EXPANSIONS_MAX else found


# ------------------------------------------------------- a page of ids off the search indexes


def fts_ids(stmt: Select[tuple[Entity]], match: tuple[Any, Any], descending: bool,
            after_id: int | None) -> Select[tuple[int]]:
    """SQLite: ``stmt``'s ids with the FTS index joined (``ordered_match``), ordered and
    bounded by its own rowid (= entity id), so that SQLite reads matches in order and stops
    after the page; ``after_id`` is where the page starts (a keyset cursor)."""
    rowid, condition = match
    stmt = stmt.with_only_columns(Entity.id).join(rowid.table, rowid == Entity.id).where(condition)
    if after_id is not None:
        stmt = stmt.where(rowid < after_id if descending else rowid > after_id)
    return stmt.order_by(rowid.desc() if descending else rowid.asc())


def word_ids(stmt: Select[tuple[Entity]], type_: str | None, expansions: list[list[str]],
             descending: bool, after_id: int | None, limit: int) -> Select[tuple[int]]:
    """PostgreSQL: ids from the word index, one branch per word containing the rarest query
    word, each walking (word, entity_id), or with a type (type, word, entity_id), in id order
    and stopping after ``limit``; every other query word must have a containing word of the
    same entity, and ``stmt``'s filters must hold. A GIN trigram index cannot give its matches
    in id order, so a common word cost 300-1,100 ms a page at 1,000,000 entities
    (BENCHMARKS.md, Search); this reads about one page per branch."""
    if not expansions[0]:
        return select(Entity.id).where(false())
    if len(expansions[0]) > BRANCHES_MAX:
        listed = (func.unnest(literal(expansions[0], ARRAY(String))).table_valued("word")
                  .render_derived(name="listed"))
        branch = _word_branch(stmt, type_, listed.c.word, expansions[1:], descending, after_id,
                              limit).lateral()
        found = select(branch.c.id).select_from(listed).join(branch, true()).subquery()
    else:
        found = union(*[_word_branch(stmt, type_, word, expansions[1:], descending, after_id,
                                     limit) for word in expansions[0]]).subquery()
    return select(found.c.id).order_by(found.c.id.desc() if descending
                                       else found.c.id.asc()).limit(limit)


def _word_branch(stmt: Select[tuple[Entity]], type_: str | None, word: str | ColumnElement[str],
                 others: list[list[str]], descending: bool, after_id: int | None, limit: int
                 ) -> Select[tuple[int]]:
    def entries(words: Any) -> tuple[Any, list[Any]]:
        """An alias of the word index and its conditions: these words, of this type."""
        index = ENTITY_WORDS.alias()
        return index, [index.c.word == words, *([index.c.type == type_] if type_ else [])]

    # Filtering a word's entries by type one entity at a time read every entry of the other
    # types first: "hvac filter" among work orders 18 ms at 1,000,000, 1 ms walking the type's.
    w, conditions = entries(word)
    branch = select(w.c.entity_id.label("id")).where(*conditions)
    if stmt.whereclause is not None:
        # EXISTS, not a join: joined, the planner may satisfy the id order by walking
        # entities newest first and probing the word for each (22 ms a page at 200,000).
        branch = branch.where(exists().where(Entity.id == w.c.entity_id, stmt.whereclause))
    for containing in others:
        if len(containing) == 1:
            # Joined, both words' entries are read in id order and merged: "lock building"
            # at 1,000,000 read 6,291 "lock" entries before 51 had "building", 23.6 ms as
            # EXISTS probes (one index descent each), 1.9 ms as a merge join.
            o, conditions = entries(containing[0])
            branch = branch.join(o, and_(o.c.entity_id == w.c.entity_id, *conditions))
        else:  # several containing words: joined, an entity with two of them would repeat
            o, conditions = entries(any_(array(containing)))
            branch = branch.where(exists().where(o.c.entity_id == w.c.entity_id, *conditions))
    if after_id is not None:
        branch = branch.where(w.c.entity_id < after_id if descending
                              else w.c.entity_id > after_id)
    return branch.order_by(w.c.entity_id.desc() if descending
                           else w.c.entity_id.asc()).limit(limit)

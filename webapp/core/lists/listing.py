"""Entity lists: filters, typo-tolerant search, sorting and keyset pagination (never a full COUNT).

Pages are keyset pages over ``(sort key, id)``: a cursor remembers the sort key and id of the
row it starts after, so the thousandth page costs what the first one does. Sorting by id,
status or last activity walks an index; sorting by name reads the type's rows and keeps the
top of them (no index on name yet), which is why the page also offers the id sorts.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    func,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from webapp.core.base import paging
from webapp.core.base.errors import InvalidInput
from webapp.core.fields import columns
from webapp.core.lists import field_filters, search, sla_filters
from webapp.core.lists import plain as plain_lists
from webapp.core.lists import rows as loaded
from webapp.core.lists.params import (  # noqa: F401  (re-exported: callers read them here)
    COUNT_CAP,
    FILTER_PARAMS,
    SORTS,
    Filters,
    Page,
    Sort,
    _whole_number,
    filters_from_params,
    is_filter_param,
)
from webapp.models import Entity


def query(session: Session, vocabulary: search.Vocabulary, f: Filters,
          words: list[str] | None = None, scan_quiet: bool = False,
          on_field: bool = False, scan_fields: bool = False) -> Select[tuple[Entity]]:
    """The filters as a query; ``scan_quiet`` writes the quiet filter so that no index on
    last activity serves it (see ``_many_quiet``), and ``scan_fields`` the field filters so
    that no field index does (``_field_walk``); with field filters, or ``on_field`` (a sort
    on a field), the type is said so that the field's index can serve it (fields/columns.py)."""
    stmt = select(Entity)
    if f.type and (f.fields or on_field):
        stmt = stmt.where(columns.type_literal(loaded.dialect(session), f.type))
    elif f.type:
        stmt = stmt.where(_type_is(session, f.type, f.parent_id is not None))
    if f.status:
        stmt = stmt.where(Entity.status == f.status)
    if f.sla is not None:
        stmt = stmt.where(f.sla.condition(session))
    if f.parent_id is not None:
        stmt = stmt.where(Entity.parent_id == f.parent_id)
    if f.inactive_since is not None:
        quiet = (func.coalesce(Entity.last_activity_at, Entity.last_activity_at) if scan_quiet
                 else Entity.last_activity_at)
        stmt = stmt.where(quiet < f.inactive_since)
    if f.fields and f.type:
        dialect = loaded.dialect(session)
        stmt = stmt.where(*(field_filters.condition(dialect, ff, indexed=not scan_fields)
                            for ff in f.fields))
    if f.q and f.q.strip():
        words = words if words is not None else search.corrected(session, vocabulary, f.q)
        if words:  # none left for this query (the index serves them): no "1=1" to join on
            stmt = stmt.where(search.name_filter(session, words))
    return stmt


def _type_is(session: Session, type_: str, with_parent: bool) -> Any:
    """``type = type_``; beside a parent filter, on SQLite, written so that no index on type
    can serve it. SQLite (no statistics) would otherwise walk the (type, id) index through
    every entity of the type to find one parent's few children: 350-530 ms for a community's
    properties among 1,000,000 entities, where the (parent_id, type, status) index finds them
    directly (PostgreSQL's planner has statistics and chooses well by itself)."""
    if with_parent and session.get_bind().dialect.name == "sqlite":
        return Entity.type.concat("") == type_
    return Entity.type == type_


def page(session: Session, vocabulary: search.Vocabulary, f: Filters, limit: int = 50,
         cursor: str | None = None) -> tuple[list[Entity], str | None, str | None]:
    """Newest first; returns (rows, next_cursor, prev_cursor)."""
    found = browse(session, vocabulary, f, Sort(), limit, cursor)
    return found.rows, found.next_cursor, found.prev_cursor


def browse(session: Session, vocabulary: search.Vocabulary, f: Filters, sort: Sort = Sort(),
           limit: int = 50, cursor: str | None = None, summaries: bool = False,
           with_data: bool | tuple[str, ...] = False) -> Page:
    """One keyset page in ``sort`` order, with cursors to the pages after and before it; its
    rows are entities, or with ``summaries`` the Summary rows a table shows (``with_data``:
    with their data, for field columns; the names of the keys wanted, or True for all)."""
    words = search.corrected(session, vocabulary, f.q) if f.q and f.q.strip() else []
    position = paging.decode_position(cursor, {*SORTS, sort.key})
    if position and position.key != sort.key:
        raise InvalidInput("That cursor belongs to another sort.", {"cursor": "Start from page one."})
    backwards = position is not None and position.direction == "prev"
    walk = sort.flipped() if backwards else sort
    plain = plain_lists.ids(session, f, walk, position, limit + 1)
    if plain is not None and summaries:
        rows = loaded.summaries_by_id(session, *plain, walk.descending, with_data)
    else:
        ids, params = plain or (_ids(session, vocabulary, f, words, walk, position, limit + 1),
                                None)
        rows = (loaded.load_summaries(session, ids, bool(with_data), params) if summaries
                else loaded.load(session, ids, params))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and bool(rows))
    has_prev = position is not None and (not backwards or more)
    cursor_of = _field_cursors(session, sort, rows) if sort.spec is not None else (
        sla_filters.cursors(session, f.type, rows) if sort.key == sla_filters.SORT else
        lambda row, direction: paging.encode_position(row, direction, sort.key))
    return Page(rows,
                cursor_of(rows[-1], "next") if rows and has_next else None,
                cursor_of(rows[0], "prev") if rows and has_prev else None,
                words)


def _field_cursors(session: Session, sort: Sort, rows: list[Any]) -> Any:
    """Cursors for a page sorted on a field: the first and last rows' values, read back."""
    if not rows:
        return None
    column = _column(session, sort)
    ends = {rows[0].id, rows[-1].id}
    values = dict(session.execute(select(Entity.id, column).where(Entity.id.in_(ends))).all())

    def cursor_of(row: Any, direction: str) -> str:
        value = values.get(row.id)
        if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
            value = str(value)  # exact in the cursor; read back by field_filters.bind
        return paging.encode_value(row.id, direction, sort.key, value)
    return cursor_of


def _ids(session: Session, vocabulary: search.Vocabulary, f: Filters, words: list[str],
         walk: Sort, position: paging.Position | None, limit: int,
         ordered: bool = True) -> Select[tuple[int]]:
    """The first ``limit`` matching ids after ``position`` in ``walk`` order; ``ordered=False``
    (for counting) lets a plain filter stop at any ``limit`` rows instead of sorting every
    match first (the index walks are in order anyway, and cheapest so)."""
    if walk.key == sla_filters.SORT:
        return sla_filters.due_ids(session, query(session, vocabulary, f, words), f.type,
                                   walk.descending, position, limit)
    by_id = walk.key == "id"
    after = position.id if position is not None else None
    match = search.ordered_match(session, words, f.type) if by_id else None
    if match is not None:
        return search.fts_ids(query(session, vocabulary, f, _short(words)), match,
                              walk.descending, after).limit(limit)
    expansions = search.word_expansions(session, vocabulary, words) if by_id else None
    if expansions is not None:
        # The type is on the word index itself (migration 0008); the rest is checked per row.
        return search.word_ids(query(session, vocabulary, replace(f, type=None), _short(words)),
                               f.type, expansions, walk.descending, after, limit)
    scan = by_id and ordered and _many_quiet(session, f)
    walk_ids = _field_walk(session, vocabulary, f) if by_id and ordered else None
    stmt = _after(session, query(session, vocabulary, f, words, scan, walk.spec is not None,
                                 scan_fields=walk_ids is True), walk, position)
    if walk_ids is False:
        # Few match: find them on the field's index and sort them, rather than walk every id.
        return stmt.with_only_columns(Entity.id).order_by(
            (Entity.id + 0).desc() if walk.descending else (Entity.id + 0).asc()).limit(limit)
    walking = (f.inactive_since is not None and f.parent_id is None) or walk_ids is True
    if by_id and ordered and f.type and walking and loaded.dialect(session) == "postgresql":
        stmt = stmt.where(_within_type(f.type, walk.descending))
    return stmt.with_only_columns(Entity.id).order_by(
        *_order(session, walk) if ordered else _count_order(session, f)).limit(limit)


def _count_order(session: Session, f: Filters) -> tuple[Any, ...]:
    """A count's order: none, but on PostgreSQL a field filter's index order. Guessing a third
    of the type matches, the planner scans the table to stop at the cap, all of it when few
    match (1,239 of 100,000 properties: 403 ms); along the field's index, 0.17 ms."""
    probed = next((ff for ff in f.fields if ff.op != "contains"), None)
    if probed is None or not f.type or loaded.dialect(session) != "postgresql":
        return ()
    return (columns.expression("postgresql", probed.name, probed.spec).asc().nulls_first(),)


def _within_type(type_: str, descending: bool) -> Any:
    """PostgreSQL: ids no newer (older) than the type's newest (oldest) entity.

    For a type's quiet entities (or those a field filter matches, walked: ``_field_walk``)
    newest first, the planner walks the primary key and drops the
    other types' rows, reckoning that a type's rows are spread over all ids. When they sit in
    a block (a bulk import; the demo seed makes each type in turn) it read every newer row of
    the other types first: quiet properties among 1,000,000 entities, 105 ms a page. Starting
    the walk at the type's newest id (one step down an index): 2.8 ms.
    """
    edge = select(func.max(Entity.id) if descending else func.min(Entity.id)
                  ).where(Entity.type == type_).scalar_subquery()
    return Entity.id <= edge if descending else Entity.id >= edge


def _many_quiet(session: Session, f: Filters) -> bool:
    """Whether more than COUNT_CAP entities pass the quiet filter (SQLite, no parent filter).

    SQLite, without statistics, serves "quiet for N days" from the (type, last_activity_at)
    index and then sorts every quiet entity by id: 64-111 ms for the newest 50 of 400,000
    quiet properties among 1,000,000. When that many are quiet, walking the ids newest first
    finds 50 of them at once; when few are, their range is small and sorting it is cheap.
    One probe on that index (it reads at most COUNT_CAP + 1 entries) tells which."""
    if f.inactive_since is None or f.parent_id is not None:
        return False
    if session.get_bind().dialect.name != "sqlite":
        return False
    probe = query(session, search.Vocabulary(), replace(f, q=None)).with_only_columns(Entity.id)
    return session.scalar(probe.limit(1).offset(COUNT_CAP)) is not None


#: Matches of a field filter above which a page sorted by id walks the ids (_field_walk).
FIELD_WALK_FROM = 10_000


def _field_walk(session: Session, vocabulary: search.Vocabulary, f: Filters) -> bool | None:
    """For a page sorted by id with field filters: True to walk the ids newest first and check
    each row's field, False to find the matches on the field's index and sort them; None when
    there is nothing to choose (no field filter an index serves).

    Either is fast on its side of the line and slow on the other: among 500,000 properties,
    203,618 priced 300k-500k take 92 ms to sort off the index and 0.2 ms to walk to (50 in
    every 125 rows match); 0 priced over 2.5M take 0.8 ms off the index and a walk through all
    500,000 (SQLite). PostgreSQL's planner, even with statistics, walked the primary key for
    the second (816 ms) and sorted the index's matches for the first (124 ms). One probe along
    the field's index (at most FIELD_WALK_FROM + 1 entries) tells which side the filter is on;
    with more matches than that, a walk reads at most 50 x rows / FIELD_WALK_FROM rows.

    On PostgreSQL the field index's statistics answer first (field_filters.estimated_matches):
    the probe reads each entry's row there (an expression index is never read index-only),
    89 / 218 ms p50 / p95 for 300k-500k among 100,000 properties. The probe stays for what
    they cannot tell: no statistics yet, or many matches of a filter with others beside it."""
    probed = next((ff for ff in f.fields if ff.op != "contains"), None)
    if probed is None or not f.type:
        return None
    if loaded.dialect(session) == "postgresql":
        if [ff.op for ff in f.fields] == ["eq"]:
            return None  # one value: its (expression, id) index is in id order already (3.6 ms)
        guess = field_filters.estimated_matches(session, f.type, f.fields)
        alone = (len({ff.name for ff in f.fields}) == 1
                 and replace(f, type=None, fields=(), q=None) == Filters())
        if guess is not None and (guess <= FIELD_WALK_FROM or alone):
            return _serial_if_few(session, guess > FIELD_WALK_FROM)
    probe = query(session, vocabulary, replace(f, q=None)).with_only_columns(Entity.id)
    if loaded.dialect(session) == "postgresql":  # in the index's order: PostgreSQL then walks
        # that index (SQLite does so already, told by likely(); an ORDER BY made it slower).
        probe = probe.order_by(columns.expression("postgresql", probed.name, probed.spec)
                               .asc().nulls_first())
    return session.scalar(probe.limit(1).offset(FIELD_WALK_FROM)) is not None


def _serial_if_few(session: Session, many: bool) -> bool:
    """``many``; when the field index's statistics say few match, no parallel workers for
    the rest of the read transaction (the page's ids, its count, its rows: all small).

    The planner has no statistics for a field's expression (those of its partial index it
    never reads), so it guesses a third of the type for ``>``: 33,000 of 100,000 properties
    priced over 2.5M, where none are. For that many it gathers two workers to sort them, and
    starting them costs 18 ms on a quiet machine, 30-80 ms on a busy one, to find 0 rows in
    0.03 ms. Without workers it takes the same path along the field's index, alone (on two
    cores, workers would only take the cores other requests need). Not after the probe:
    without statistics the index may not be what finds them (bench/finding.py's scans)."""
    if not many:
        session.execute(select(func.set_config("max_parallel_workers_per_gather", "0", True)))
    return many


def _short(words: list[str]) -> list[str]:
    """The words the trigram index cannot serve (an empty list filters nothing)."""
    return [w for w in words if len(w) < search.MIN_TRIGRAM]


def _column(session: Session, sort: Sort) -> Any:
    """What ``sort`` orders by: a column, or a declared field's expression."""
    if sort.spec is None:
        return SORTS[sort.key]
    return columns.expression(loaded.dialect(session), sort.key.removeprefix("data."), sort.spec)


def _order(session: Session, sort: Sort) -> list[Any]:
    if sort.key == "id":
        return [Entity.id.desc() if sort.descending else Entity.id.asc()]
    column = _column(session, sort)
    if sort.spec is not None and loaded.dialect(session) == "postgresql":
        # A missing value sorts first, as on SQLite (the field index is built NULLS FIRST).
        first = column.desc().nulls_last() if sort.descending else column.asc().nulls_first()
        return [first, Entity.id.desc() if sort.descending else Entity.id.asc()]
    return [c.desc() if sort.descending else c.asc() for c in (column, Entity.id)]


def _after(session: Session, stmt: Select[tuple[Entity]], sort: Sort,
           position: paging.Position | None) -> Select[tuple[Entity]]:
    """Rows strictly after ``position`` in ``sort`` order."""
    if position is None:
        return stmt
    if sort.key == "id":
        return stmt.where(Entity.id < position.id if sort.descending else Entity.id > position.id)
    column = _column(session, sort)
    if sort.spec is not None:
        try:
            value = field_filters.bind(loaded.dialect(session), sort.spec, position.value)
        except (ValueError, ArithmeticError) as exc:
            raise InvalidInput("That cursor is not valid.", {"cursor": "Use next_cursor as given."}
                               ) from exc
        return stmt.where(field_filters.after(column, Entity.id, sort.descending, value,
                                              position.id))
    row, mark = tuple_(column, Entity.id), tuple_(position.value, position.id)
    # The plain range on the column lets the index seek; the row value makes it exact.
    if sort.descending:
        return stmt.where(and_(column <= position.value, row < mark))
    return stmt.where(and_(column >= position.value, row > mark))


def capped_count(session: Session, vocabulary: search.Vocabulary, f: Filters,
                 cap: int | None = None) -> int:
    """How many match, counting no further than ``cap + 1`` (so "1,000+" costs 1,001 rows)."""
    cap = COUNT_CAP if cap is None else cap
    plain = plain_lists.ids(session, f, Sort(), None, cap + 1, ordered=False)
    if plain is not None:
        return session.scalar(plain_lists.count_of(plain[0]), plain[1]) or 0
    words = search.corrected(session, vocabulary, f.q) if f.q and f.q.strip() else []
    # The page's own walk: a common search word is counted off the index in order and the
    # count stops at the cap, where ``id IN (every match)`` collected all of them first
    # (1,000,000 entities: "street" in the property list, 38.7 -> 5.1 ms; BENCHMARKS.md).
    inner = _ids(session, vocabulary, f, words, Sort(), None, cap + 1, ordered=False).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


def iterate(session: Session, vocabulary: search.Vocabulary, f: Filters, sort: Sort = Sort(),
            batch: int = 1000) -> Iterator[Entity]:
    """Every matching entity in ``sort`` order, read in keyset batches (for exports)."""
    cursor = None
    while True:
        found = browse(session, vocabulary, f, sort, batch, cursor)
        for row in found.rows:
            yield row
            session.expunge(row)  # keep memory flat over a million rows
        if not found.next_cursor:
            return
        cursor = found.next_cursor


def children(session: Session, parent_id: int, child_type: str, limit: int = 10
             ) -> tuple[list[Entity], int]:
    """The first children of one type, and how many there are (capped like lists)."""
    f = Filters(type=child_type, parent_id=parent_id)
    stmt = select(Entity).where(_type_is(session, child_type, True), Entity.parent_id == parent_id)
    rows = list(session.scalars(stmt.order_by(Entity.id).limit(limit)))
    return rows, capped_count(session, search.Vocabulary(), f)

"""Typo-tolerant search at scale: ``listing.page`` with a query against a LIKE '%word%' scan.

Seeds (or, with ``--keep``, reuses) a database of ``size`` entities made by ``core.seed`` (the
demo data's names: builders, communities, streets, people), then takes ~50 realistic queries
from the seeded names -- one or two words, half of them misspelt (a letter dropped, doubled,
swapped or replaced) -- and times, per query, (a) the first page of 50 newest matches over
every type, as the API's ``GET /api/v1/entities?q=`` asks for it (vocabulary correction + FTS5
trigram match on SQLite, the word index on PostgreSQL), (b) the same within the type of the
name the query came from, as the entity list page's live search asks for it (the page always
lists one type; its rows as summaries), and (c) the page of (a) by a plain case-insensitive
LIKE '%word%' scan of the names (no index on either). Each query runs ``--runs`` times after
one warm-up; p50/p95 are over all those timings.

    .venv/bin/python -m bench search 1000000 --keep /tmp/bench-1m   # minutes to seed, once
    .venv/bin/python -m bench search 1000000 --postgres              # on PostgreSQL (bench/pg.py)
"""
from __future__ import annotations

import random
import statistics
import time
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench import targets

QUERIES = 50


def _misspell(word: str, rnd: random.Random) -> str:
    i = rnd.randrange(1, len(word) - 1)
    return rnd.choice([
        word[:i] + word[i + 1:],                            # a letter dropped
        word[:i] + word[i] + word[i:],                      # a letter doubled
        word[:i - 1] + word[i] + word[i - 1] + word[i + 1:],  # two letters swapped
        word[:i] + rnd.choice("aeiourstn") + word[i + 1:],  # a letter replaced
    ])


def queries(named: list[tuple[str, str]], rnd: random.Random) -> list[tuple[str, bool, str]]:
    """(query, misspelt, type) for (name, type) pairs: one or two words of a real name, every
    other one misspelt, and the type of the entity the name came from."""
    found: list[tuple[str, bool, str]] = []
    while len(found) < QUERIES:
        name, type_ = rnd.choice(named)
        words = [w for w in name.lower().split() if len(w) >= 4 and w.isalpha()]
        if not words:
            continue
        picked = rnd.sample(words, min(len(words), rnd.choice((1, 2))))
        misspelt = len(found) % 2 == 1
        if misspelt:
            picked[0] = _misspell(picked[0], rnd)
        found.append((" ".join(picked), misspelt, type_))
    return found


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _timed_ms(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def _like_page(session, query: str) -> list[int]:
    from webapp.models import Entity

    stmt = select(Entity.id)
    for word in query.split():
        stmt = stmt.where(func.lower(Entity.name).like(f"%{word}%"))
    return list(session.scalars(stmt.order_by(Entity.id.desc()).limit(50)))


@contextmanager
def _unindexed(session):
    """A session for the LIKE reference. On SQLite the plain LIKE is a scan anyway; on
    PostgreSQL the pg_trgm index serves ``lower(name) LIKE`` (that is the core's own plan), so
    the reference runs on a connection of its own with bitmap scans -- the only way a GIN
    index is read -- off: the same scan of the names newest first as on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        yield session
        return
    with session.get_bind().connect() as conn:
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        conn.commit()  # a SET is undone with its transaction; committed, it lasts the connection
        try:
            with Session(bind=conn) as reference:
                yield reference
        finally:
            conn.rollback()
            conn.exec_driver_sql("RESET enable_bitmapscan")  # the connection goes back to the pool
            conn.commit()


def measure(session, runs: int, rnd: random.Random) -> dict[str, object]:
    from webapp.core.lists import listing, search
    from webapp.models import Entity

    top = session.scalar(select(func.max(Entity.id)))
    sample = [rnd.randint(1, top) for _ in range(400)]
    named = [tuple(row) for row in session.execute(
        select(Entity.name, Entity.type).where(Entity.id.in_(sample)))]
    vocabulary = search.Vocabulary()
    results: dict[str, object] = {"core": [], "typed": [], "like": [], "rows": [],
                                  "corrected": 0, "queries": queries(named, rnd)}
    with _unindexed(session) as reference:
        for q, misspelt, type_ in results["queries"]:
            def core(q=q):
                return listing.browse(session, vocabulary, listing.Filters(q=q), limit=50)

            def typed(q=q, type_=type_):
                return listing.browse(session, vocabulary, listing.Filters(type=type_, q=q),
                                      limit=50, summaries=True)
            core()
            typed()
            _like_page(reference, q)  # warm-up of all three
            for _ in range(runs):
                ms, found = _timed_ms(core)
                results["core"].append(ms)
                results["typed"].append(_timed_ms(typed)[0])
                results["like"].append(_timed_ms(lambda q=q: _like_page(reference, q))[0])
            results["rows"].append(len(found.rows))
            results["corrected"] += misspelt and " ".join(found.words) != q
            session.rollback()
            reference.rollback()
    return results


def report(size: int, runs: int, r: dict, where: str = "SQLite") -> None:
    core, typed, like = r["core"], r["typed"], r["like"]
    hits = sum(1 for n in r["rows"] if n)
    print(f"\n{where}: search over {size:,} entities: {len(r['queries'])} queries x {runs} runs "
          f"({hits} with matches; {r['corrected']} of {len(r['queries']) // 2} misspelt "
          f"queries corrected)")
    for label, values in (("listing.browse(q=...), first page", core),
                          ("the same within the name's type", typed),
                          ("LIKE '%word%' scan, first page", like)):
        print(f"  {label:36} p50 {percentile(values, 50):8.1f} ms   "
              f"p95 {percentile(values, 95):8.1f} ms   max {max(values):8.1f} ms")
    print(f"  ratio of medians (LIKE / core)       {statistics.median(like) / statistics.median(core):.1f}x")
    p95, scan = percentile(core, 95), percentile(like, 95)
    targets.record(f"list search, {size:,} entities, {where}", f"{p95:.1f} ms p95",
                   f"LIKE scan {scan:.0f} ms p95", "< 20 ms p95", p95 < 20, p95 / scan)
    print("  queries: " + ", ".join(q for q, _, _ in r["queries"][:12]) + ", ...")


def main(argv: list[str] | None = None) -> int:
    from bench.list_page import opened_app
    from webapp.extensions import db

    with opened_app("search", argv, __doc__, runs=5) as (app, args):
        if app is None:
            return 0
        with app.app_context():
            where = "PostgreSQL" if args.postgres else "SQLite"
            report(args.size, args.runs, measure(db.session, args.runs, random.Random(11)), where)
    return 0

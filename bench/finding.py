"""Finding at scale (issue 15): lists filtered and sorted on declared fields, and the header's
search across every type, beside a full scan in the same run.

On a database of ``size`` entities seeded with the demo data (every declared field filled),
times the first page (50 rows, as the list asks for it: ``listing.browse`` with summaries) of:

- filters on one filterable field, sorted by id (the list's default) and sorted by the field:
  a range of property prices, equality on bedrooms, a date range, a choice on work orders;
- a sort on a field with no filter (the price column clicked);
- the same pages with the field's expression written so that no index can serve it
  (``+ 0``): the full scan an unindexed JSON field costs;
- the header search (``finding.find``) for ~50 names taken from the data, half misspelt.

    .venv/bin/python -m bench finding 1000000 --keep /tmp/bench-1m   # minutes to seed, once
    .venv/bin/python -m bench finding 1000000 --postgres
"""
from __future__ import annotations

import random
import statistics
import time
from contextlib import contextmanager

from bench import targets
from bench.search import percentile, queries

#: (label, type, list parameters, the field the scan reference rewrites).
CASES = (
    ("price 300k-500k, newest first", "property", {"data.price__gte": "300000",
                                                   "data.price__lte": "500000"}, None),
    ("price 300k-500k, by price", "property", {"data.price__gte": "300000",
                                               "data.price__lte": "500000", "sort": "-data.price"}, None),
    ("price over 2.5M (few), newest first", "property", {"data.price__gte": "2500000"}, None),
    ("bedrooms = 3, newest first", "property", {"data.bedrooms": "3"}, None),
    ("listed in 2024, by date", "property", {"data.listed_on__gte": "2024-01-01",
                                             "data.listed_on__lte": "2024-12-31",
                                             "sort": "data.listed_on"}, None),
    ("every property by price", "property", {"sort": "-data.price"}, None),
    ("work orders HIGH or CRITICAL", "work_order", {"data.priority__in": "HIGH,CRITICAL"}, None),
)


def _timed(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


@contextmanager
def _scanning():
    """The field expressions written with ``+ 0`` (numbers) or ``|| ''`` (text): the same
    values, but no index is built on them, so every page reads the type's rows; and no index
    statistics either (PostgreSQL would read them to skip the count that scans)."""
    from webapp.core.fields import columns

    original, statistics = columns.sql, columns.statistics

    def unindexed(dialect, name, spec, table=""):
        said = original(dialect, name, spec, table)
        if not table:
            return said
        return f"({said} + 0)" if columns.compared_as(spec) == "number" else f"({said} || '')"
    columns.sql, columns.statistics = unindexed, lambda *args: None
    try:
        yield
    finally:
        columns.sql, columns.statistics = original, statistics


def measure(session, runs: int) -> list[tuple[str, list[float], list[float], int]]:
    from webapp.core.changes.manager import StateManager
    from webapp.core.lists import listing, search

    workflows = StateManager.get_instance().workflows.all(session)
    vocabulary = search.Vocabulary()
    found = []
    for label, type_, params, _ in CASES:
        wf = workflows[type_]

        def page(wf=wf, params=params, type_=type_):
            f = listing.filters_from_params({**params, "type": type_}, StateManager.get_instance().clock(),
                                            wf.fields, wf.label)
            sort = listing.Sort.parse(params.get("sort") or "-id", wf.fields, wf.label)
            return listing.browse(session, vocabulary, f, sort, 50, summaries=True)
        indexed = _timed(page, runs)
        rows = len(page().rows)
        with _scanning():
            scanned = _timed(page, max(3, runs // 5))
        session.rollback()
        found.append((label, indexed, scanned, rows))
    return found


def measure_search(session, runs: int, rnd: random.Random) -> dict[str, list[float]]:
    from sqlalchemy import func, select

    from webapp.core.lists import finding, search
    from webapp.models import Entity

    top = session.scalar(select(func.max(Entity.id)))
    sample = [rnd.randint(1, top) for _ in range(400)]
    named = [tuple(r) for r in session.execute(select(Entity.name, Entity.type)
                                                .where(Entity.id.in_(sample)))]
    vocabulary = search.Vocabulary()
    times, hits = [], 0
    for q, _, _ in queries(named, rnd):
        times += _timed(lambda q=q: finding.find(session, vocabulary, q, 8), runs)
        hits += bool(finding.find(session, vocabulary, q, 8))
        session.rollback()
    return {"times": times, "hits": [hits]}


def report(size: int, where: str, cases, searched) -> None:
    print(f"\n{where}: finding over {size:,} entities (first page of 50; p50 / p95 ms)")
    for label, indexed, scanned, rows in cases:
        ratio = statistics.median(scanned) / statistics.median(indexed)
        print(f"  {label:38} indexed {percentile(indexed, 50):7.2f} / {percentile(indexed, 95):7.2f}"
              f"   full scan {percentile(scanned, 50):8.1f} / {percentile(scanned, 95):8.1f}"
              f"   {ratio:7.0f}x   ({rows} rows)")
        p95, scan = percentile(indexed, 95), percentile(scanned, 95)
        targets.record(f"{label.strip()}, {size:,}, {where}", f"{p95:.1f} ms p95",
                       f"full scan {scan:.0f} ms p95", "< 50 ms p95", p95 < 50, p95 / scan)
    t = searched["times"]
    print(f"  header search, 50 names (half misspelt, {searched['hits'][0]} found)"
          f"   p50 {percentile(t, 50):6.2f}   p95 {percentile(t, 95):6.2f}   max {max(t):6.2f}")
    targets.record(f"search across every type, {size:,}, {where}",
                   f"{percentile(t, 95):.1f} ms p95", "fixed goal", "< 20 ms p95",
                   percentile(t, 95) < 20)


def main(argv: list[str] | None = None) -> int:
    from bench.list_page import opened_app
    from webapp.core.base.transactions import write_transaction
    from webapp.core.workflows.registry import sync_field_indexes
    from webapp.extensions import db

    with opened_app("finding", argv, __doc__, runs=20) as (app, args):
        if app is None:
            return 0
        with app.app_context():
            with write_transaction(db.session):
                created, _ = sync_field_indexes(db.session)  # a database kept from before them
            if created:
                print(f"(built {len(created)} field indexes on the kept database)")
            where = "PostgreSQL" if args.postgres else "SQLite"
            cases = measure(db.session, args.runs)
            searched = measure_search(db.session, max(3, args.runs // 4), random.Random(5))
            report(args.size, where, cases, searched)
    return 0

"""The history page of an entity with 10,000 changes: ``history.page`` and ``/entities/<id>``.

Uses the database of bench/list_page.py (seeded, or reused with ``--keep``; on PostgreSQL with
``--postgres``, bench/pg.py), gives one
property 10,000 status changes (alternating states, set-based insert; skipped when a kept
database already has them) and times the first page of its history in the core and the
whole entity page (timeline included) through the Flask test client. p50/p95 of ``--runs``.

    .venv/bin/python -m bench history 1000000 --keep /tmp/bench-1m
"""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, insert, select

from bench import targets

CHANGES = 10_000


def give_history(session, n: int) -> int:
    """A property with ``n`` changes (one already having them is reused); returns its id."""
    from webapp.models import Entity, StatusChange

    busiest = session.execute(select(StatusChange.entity_id, func.count()).group_by(
        StatusChange.entity_id).order_by(func.count().desc()).limit(1)).first()
    if busiest and busiest[1] >= n:
        return busiest[0]
    entity = session.scalars(select(Entity).where(Entity.type == "property").limit(1)).one()
    start = entity.created_at
    states = ("available", "pending")
    session.execute(insert(StatusChange), [
        {"entity_id": entity.id, "old_status": states[i % 2], "new_status": states[(i + 1) % 2],
         "action": "bench", "reason": f"change {i}", "actor": "bench", "source": "api",
         "correlation_id": f"00000000-0000-4000-8000-{i:012d}", "meta": {},
         "seconds_in_previous": 60.0, "created_at": start + timedelta(minutes=i)}
        for i in range(n)])
    session.commit()
    return entity.id


def timings(fn, runs: int) -> list[float]:
    fn()  # warm-up
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        found.append((time.perf_counter() - started) * 1000)
    return found


def line(label: str, ms: list[float]) -> str:
    from bench.search import percentile

    return (f"  {label:40} p50 {percentile(ms, 50):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms   "
            f"max {max(ms):7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    from bench.list_page import opened_app, sign_in
    from webapp.core.changes import history
    from webapp.extensions import db

    with opened_app("history", argv, __doc__, runs=100) as (app, args):
        if app is None:
            return 0
        with app.app_context():
            eid = give_history(db.session, CHANGES)

            def core():
                history.page(db.session, eid, 50)
                db.session.rollback()
            core_ms = timings(core, args.runs)
        client = app.test_client()
        sign_in(client)

        def page():
            assert client.get(f"/entities/{eid}").status_code == 200
        page_ms = timings(page, args.runs)
    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\n{where}: history of entity {eid} ({CHANGES:,}+ changes), {args.size:,} entities, "
          f"{args.runs} runs:")
    print(line("history.page(first 50)", core_ms))
    print(line(f"GET /entities/{eid} (test client)", page_ms))
    from bench.search import percentile

    p95 = percentile(core_ms, 95)
    targets.record(f"history, first page of {CHANGES:,} changes, {where}", f"{p95:.1f} ms p95",
                   f"whole page {percentile(page_ms, 95):.0f} ms p95", "< 20 ms p95", p95 < 20)
    return 0

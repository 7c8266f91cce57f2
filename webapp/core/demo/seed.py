"""Realistic demo data, inserted set-based so that a million entities load in minutes."""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from webapp.core.lists import search
from webapp.core.workflows.definition import Workflow
from webapp.models import Entity, StatusChange

CHUNK = 10_000
_FIRST = ["Acme", "Harbor", "Summit", "Oak", "Cedar", "Maple", "Pioneer", "Liberty", "Heritage",
          "Riverstone", "Silver", "Golden", "Evergreen", "Blue Ridge", "Lakeside", "Meadow",
          "Granite", "Willow", "Sterling", "Prairie", "Coastal", "Highland", "Crescent", "Aspen"]
_BUILDER = ["Homes", "Builders", "Construction", "Development", "Residential", "Living", "Properties"]
_COMMUNITY = ["Estates", "Village", "Crossing", "Park", "Commons", "Heights", "Reserve", "Landing"]
_STREETS = ["Maple", "Oak", "Pine", "Elm", "Birch", "Walnut", "Sunset", "Hillcrest", "Park",
            "Lake", "River", "Meadow", "Forest", "Spring", "Valley", "Ridge", "Willow", "Cherry"]
_SUFFIX = ["Street", "Avenue", "Lane", "Drive", "Court", "Way", "Place", "Road", "Terrace"]
_PEOPLE_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia",
                 "Amara", "Kenji", "Priya", "Diego", "Fatima", "Hannah", "Omar", "Chloe", "Ivan"]
_PEOPLE_LAST = ["Garcia", "Smith", "Nguyen", "Johnson", "Okafor", "Patel", "Kowalski", "Brown",
                "Rossi", "Haddad", "Müller", "Kim", "Silva", "Anderson", "Dubois", "Tanaka"]
_JOBS = ["Replace HVAC filter", "Fix leaking faucet", "Repaint stairwell", "Inspect fire alarms",
         "Repair parking gate", "Clean gutters", "Service elevator", "Replace lobby lights",
         "Patch roof membrane", "Calibrate thermostat", "Unclog drain", "Replace door lock"]
_TICKETS = ["Printer jammed", "Badge reader offline", "Wi-Fi slow", "Water cooler empty",
            "Air conditioning too cold", "Projector not working", "Broken chair", "Noise complaint"]
_VENDORS = ["CoolAir Services", "Prime Plumbing", "BrightSpark Electric", "Summit Facilities"]

#: Share of the demo size per entity type, and the status spread of each.
SHARES = {"builder": .01, "community": .04, "property": .50, "sales_rep": .05, "work_order": .075,
          "task": .075, "attendance": .075, "ticket": .075, "user_account": .04, "transaction": .03,
          "subscription": .02, "feature_flag": .01}
SPREAD = {
    "builder": {"active": 85, "inactive": 8, "suspended": 4, "out_of_business": 2, "merged": 1},
    "community": {"active": 80, "limited_availability": 12, "sold_out": 5, "inactive": 3},
    "property": {"available": 55, "pending": 8, "reserved": 7, "under_contract": 10, "sold": 15,
                 "off_market": 5},
    "sales_rep": {"active": 90, "inactive": 10},
}
PARENTS = {"community": "builder", "property": "community", "sales_rep": "builder"}


def _name(type_: str, rnd: random.Random, n: int) -> str:
    pick = rnd.choice
    if type_ == "builder":
        return f"{pick(_FIRST)} {pick(_BUILDER)}" + (f" {n}" if n >= len(_FIRST) * len(_BUILDER) else "")
    if type_ == "community":
        return f"{pick(_FIRST)} {pick(_COMMUNITY)}"
    if type_ == "property":
        return f"{rnd.randint(1, 9999)} {pick(_STREETS)} {pick(_SUFFIX)}, Lot {rnd.randint(1, 400)}"
    if type_ in ("sales_rep", "user_account"):
        return f"{pick(_PEOPLE_FIRST)} {pick(_PEOPLE_LAST)}"
    if type_ == "work_order":
        return f"{pick(_JOBS)} - Building {pick('ABCDEFGH')}{rnd.randint(1, 12)}"
    if type_ == "task":
        return f"{pick(_JOBS)} (task {n})"
    if type_ == "attendance":
        return f"{pick(_PEOPLE_FIRST)} {pick(_PEOPLE_LAST)} week {rnd.randint(1, 52)}"
    if type_ == "ticket":
        return f"{pick(_TICKETS)} on floor {rnd.randint(1, 20)}"
    return f"{type_.replace('_', ' ').title()} {n}"


def _data(type_: str, status: str, rnd: random.Random) -> dict[str, Any]:
    if type_ == "work_order":
        late = status not in ("DRAFT", "SUBMITTED")
        return {"vendor": rnd.choice(_VENDORS)} | ({"line_items": [{"item": "labour", "hours": 2}]}
                                                   if late else {})
    if type_ == "ticket":
        return {"priority": rnd.choice(["LOW", "MEDIUM", "MEDIUM", "HIGH", "CRITICAL"])}
    if type_ == "task":
        return {"assignee": f"{rnd.choice(_PEOPLE_FIRST)} {rnd.choice(_PEOPLE_LAST)}"}
    if type_ == "property":
        return {"price": rnd.randrange(150_000, 1_500_000, 5_000), "bedrooms": rnd.randint(1, 6)}
    return {}


def _status(wf: Workflow, rnd: random.Random) -> str:
    spread = SPREAD.get(wf.entity_type) or {s: (6 if i == 0 else 2) for i, s in enumerate(wf.states)}
    return rnd.choices(list(spread), weights=list(spread.values()))[0]


def seed(session: Session, workflows: dict[str, Workflow], size: int, now: datetime,
         types: list[str] | None = None, progress: Callable[[str], None] = lambda _: None,
         rnd_seed: int = 7) -> dict[str, int]:
    """Insert about ``size`` entities with history (commits per chunk); returns counts per type."""
    rnd = random.Random(rnd_seed)
    wanted = [t for t in SHARES if t in workflows and (types is None or t in types)]
    share_total = sum(SHARES[t] for t in wanted)
    counts: dict[str, int] = {}
    ids_by_type: dict[str, tuple[int, int]] = {}
    for type_ in wanted:
        n = max(1, round(size * SHARES[type_] / share_total))
        first = _insert_type(session, workflows[type_], n, ids_by_type, now, rnd)
        ids_by_type[type_] = (first, first + n - 1)
        counts[type_] = n
        progress(f"{type_}: {n:,}")
    _finish(session)
    return counts


def _insert_type(session: Session, wf: Workflow, n: int, ids_by_type: dict[str, tuple[int, int]],
                 now: datetime, rnd: random.Random) -> int:
    first = (session.scalar(select(func.max(Entity.id))) or 0) + 1
    parent_range = ids_by_type.get(PARENTS.get(wf.entity_type, ""))
    names: set[str] = set()
    for start in range(0, n, CHUNK):
        rows, history = [], []
        for i in range(start, min(n, start + CHUNK)):
            row, hist = _row(wf, first + i, i, parent_range, now, rnd)
            rows.append(row)
            history.extend(hist)
            if len(names) < 50_000:
                names.add(row["name"])
        session.execute(insert(Entity), rows)
        session.execute(insert(StatusChange), history)
        session.commit()
    search.add_words(session, names)
    session.commit()
    return first


def _row(wf: Workflow, eid: int, n: int, parent_range: tuple[int, int] | None, now: datetime,
         rnd: random.Random) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    status = _status(wf, rnd)
    created = now - timedelta(days=rnd.uniform(20, 900))
    changed = created + (now - created) * rnd.uniform(0.1, 0.9) if status != wf.initial else created
    quiet = rnd.choice((rnd.uniform(0, 30), rnd.uniform(0, 120), rnd.uniform(0, 400)))
    activity = max(changed, now - timedelta(days=quiet))
    if wf.states[status].category != "active":
        activity = changed  # went quiet when it went inactive: the sweep must not wake it
    row = {"id": eid, "type": wf.entity_type, "name": _name(wf.entity_type, rnd, n),
           "status": status, "version": 1 if status == wf.initial else 2,
           "data": _data(wf.entity_type, status, rnd),
           "parent_id": rnd.randint(*parent_range) if parent_range else None,
           "last_activity_at": activity,
           "status_changed_at": changed, "created_at": created, "updated_at": changed}
    return row, list(_history(wf, row, created, changed))


def _history(wf: Workflow, row: dict[str, Any], created: datetime, changed: datetime) -> Iterator[dict]:
    cid = str(uuid.UUID(int=row["id"]))
    yield {"entity_id": row["id"], "old_status": None, "new_status": wf.initial, "action": "create",
           "reason": None, "actor": "seed", "source": "import", "correlation_id": cid,
           "meta": {"data": {"before": {}, "after": row["data"]}} if row["data"] else {},
           "seconds_in_previous": None, "created_at": created}
    if row["status"] != wf.initial:
        move = wf.find(wf.initial, row["status"])
        yield {"entity_id": row["id"], "old_status": wf.initial, "new_status": row["status"],
               "action": move.name if move else "import", "reason": "demo data", "actor": "seed",
               "source": "import", "correlation_id": cid, "meta": {},
               "seconds_in_previous": (changed - created).total_seconds(), "created_at": changed}


def _finish(session: Session) -> None:
    """Explicit ids were used: move PostgreSQL's sequence past them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('entities', 'id'), "
                             "(SELECT COALESCE(MAX(id), 1) FROM entities))"))
        session.commit()

"""Realistic demo data, inserted set-based so that a million entities load in minutes.

Every field a type declares is filled (``named`` and ``values`` say with what), consistently
with the workflow: an entity past a transition has what that transition's rules require (an
approved work order has its vendor, an approved attendance its check-in inside the site's
geofence), while earlier ones sometimes lack it, so the rules have something to refuse.
Sensitive fields are sealed with the keyring before they are written, never stored in plain
text. The people that ``user`` fields name are demo users, created first.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from webapp.core.base.words import label
from webapp.core.changes import counts
from webapp.core.demo import named, values
from webapp.core.fields import searchable
from webapp.core.lists import search
from webapp.core.settings.store import REGISTRY as SETTINGS
from webapp.core.workflows import sla_keeping
from webapp.core.workflows.definition import Transition, Workflow
from webapp.models import Entity, StatusChange, User

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
#: How often an entity that has not yet taken a transition already has what it requires.
_EARLY_SHARE = 0.5
#: Check-ins outside the geofence, among attendance not yet approved.
_STRAY_SHARE = 0.15
#: The demo users cannot sign in until an admin sets a password (an argon2 hash never
#: equals this, so every password is refused).
_NO_PASSWORD = "!demo user: an administrator sets the password"

#: Share of the demo size per entity type, and the status spread of each.
SHARES = {"builder": .01, "community": .04, "sales_rep": .05, "property": .50, "work_order": .075,
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
    return f"{label(type_).title()} {n}"


@dataclass
class _Fill:
    """How one type's data is filled: a maker per declared field, and what the workflow
    requires of entities in each state."""

    makers: list[tuple[str, values.Maker]]
    #: The statuses to draw from, each as often as the type's spread says.
    statuses: list[str] = field(default_factory=list)
    #: status -> fields an entity in that status may still lack (it has not taken the
    #: transition whose rule requires them).
    optional_in: dict[str, frozenset[str]] = field(default_factory=dict)
    #: (location field, centre field, meters) of each geofence rule, and the statuses that
    #: passed it (their check-in is inside).
    fences: list[tuple[str, str, float, frozenset[str]]] = field(default_factory=list)
    #: Seals the sensitive fields (keyring.seal), or drops them when there is no keyring.
    seal: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def data(self, rnd: random.Random, row: dict[str, Any]) -> dict[str, Any]:
        optional = self.optional_in.get(row["status"], frozenset())
        data: dict[str, Any] = {}
        row["data"] = data  # makers read the fields made before theirs
        for name, make in self.makers:
            if name in optional and rnd.random() >= _EARLY_SHARE:
                continue
            value = make(rnd, row)
            if value is not values.SKIP:
                data[name] = value
        for where, centre, meters, passed in self.fences:
            if where in data and centre in data:
                data[where] = _check_in(rnd, data[centre], meters, row["status"] in passed)
        return self.seal(data) if self.seal and data else data


def _check_in(rnd: random.Random, centre: dict[str, float], meters: float, inside: bool
              ) -> dict[str, float]:
    """A check-in around ``centre``: inside the fence when it must be (or mostly anyway)."""
    if inside or rnd.random() >= _STRAY_SHARE:
        return values.near(rnd, centre["lat"], centre["lon"], rnd.uniform(0, meters * 0.9))
    return values.near(rnd, centre["lat"], centre["lon"], rnd.uniform(meters * 1.25, meters * 8))


def _fill(wf: Workflow, now: datetime, ids_by_type: dict[str, tuple[int, int]],
          keyring: Any) -> _Fill:
    spread = SPREAD.get(wf.entity_type) or {s: (3 if i == 0 else 1) for i, s in enumerate(wf.states)}
    fill = _Fill(named.makers_for(wf.entity_type, wf.fields, now, ids_by_type.get),
                 values.weighted(list(spread), list(spread.values())),
                 seal=_sealer(wf.fields, keyring))
    for move in wf.transitions:
        _follow_rules(fill, wf, move)
    return fill


def _follow_rules(fill: _Fill, wf: Workflow, move: Transition) -> None:
    """What ``move``'s rules require of the entities that took it (those in a status it
    leads to): the fields it requires, a check-in inside its geofence."""
    passed = _reachable(wf, move.target)
    for rule in move.rules:
        if rule.kind == "required_fields":
            late = frozenset(f for f in rule.params.get("fields", ())
                             if f in wf.fields and not wf.fields[f].required)
            for status in set(wf.states) - passed:
                fill.optional_in[status] = fill.optional_in.get(status, frozenset()) | late
        elif rule.kind == "geofence":
            setting = SETTINGS.get(rule.params.get("meters_setting", ""))
            meters = float(setting.default) if setting else 200.0
            fill.fences.append((rule.params["field"], rule.params["center_field"], meters, passed))


def _sealer(specs: dict[str, Any], keyring: Any) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    sensitive = {name for name, spec in specs.items() if spec.sensitive}
    if not sensitive:
        return None
    if keyring is None:  # nothing to seal with: leave them out rather than store plain text
        return lambda data: {k: v for k, v in data.items() if k not in sensitive}
    return lambda data: keyring.seal(specs, data, None)


def _reachable(wf: Workflow, start: str) -> frozenset[str]:
    """The statuses an entity can be in once it has entered ``start``."""
    seen, todo = {start}, [start]
    while todo:
        for move in wf.transitions_from(todo.pop()):
            if move.target not in seen:
                seen.add(move.target)
                todo.append(move.target)
    return frozenset(seen)


def ensure_demo_users(session: Session, now: datetime) -> list[str]:
    """The people `user` fields name (assignees, workers), created once as support staff who
    cannot sign in until an administrator sets their password; returns the new ones."""
    existing = set(session.scalars(select(User.username)
                                   .where(User.username.in_(values.DEMO_USERS))))
    new = [name for name in values.DEMO_USERS if name not in existing]
    if new:
        session.execute(insert(User), [{"username": name, "role": "support",
                                        "password_hash": _NO_PASSWORD, "is_enabled": True,
                                        "created_at": now} for name in new])
        session.commit()
    return new


def _needs_users(workflows: Iterable[Workflow]) -> bool:
    def users_in(specs: dict[str, Any]) -> bool:
        return any(s.type == "user" or users_in(s.item_fields or {}) for s in specs.values())
    return any(users_in(wf.fields) for wf in workflows)


def seed(session: Session, workflows: dict[str, Workflow], size: int, now: datetime,
         types: list[str] | None = None, progress: Callable[[str], None] = lambda _: None,
         rnd_seed: int = 7, keyring: Any = None) -> dict[str, int]:
    """Insert about ``size`` entities with history (commits per chunk); returns counts per type.

    ``keyring`` (the StateManager's) seals sensitive fields; without one they are left out."""
    rnd = random.Random(rnd_seed)
    wanted = [t for t in SHARES if t in workflows and (types is None or t in types)]
    share_total = sum(SHARES[t] for t in wanted)
    counts: dict[str, int] = {}
    ids_by_type: dict[str, tuple[int, int]] = {}
    if _needs_users(workflows[t] for t in wanted):
        ensure_demo_users(session, now)
    for type_ in wanted:
        n = max(1, round(size * SHARES[type_] / share_total))
        fill = _fill(workflows[type_], now, ids_by_type, keyring)
        first = _insert_type(session, workflows[type_], n, ids_by_type, now, rnd, fill)
        ids_by_type[type_] = (first, first + n - 1)
        counts[type_] = n
        progress(f"{type_}: {n:,}")
    _finish(session)
    return counts


def _insert_type(session: Session, wf: Workflow, n: int, ids_by_type: dict[str, tuple[int, int]],
                 now: datetime, rnd: random.Random, fill: _Fill) -> int:
    first = (session.scalar(select(func.max(Entity.id))) or 0) + 1
    parent_range = ids_by_type.get(PARENTS.get(wf.entity_type, ""))
    names: set[str] = set()
    found = searchable.names(wf.fields)  # their words join the vocabulary, every row's
    vocabulary: set[str] = set()
    for start in range(0, n, CHUNK):
        rows, history = [], []
        for i in range(start, min(n, start + CHUNK)):
            row, hist = _row(wf, first + i, i, parent_range, now, rnd, fill)
            rows.append(row)
            history.extend(hist)
            if len(names) < 50_000:
                names.add(row["name"])
            for name in found:
                vocabulary.update(search.words(str(row["data"].get(name) or "")))
        # Core inserts: one executemany each, without the ORM's per-row bookkeeping.
        session.execute(insert(Entity.__table__), rows)
        session.execute(insert(StatusChange.__table__), history)
        counts.added(session, rows)  # in the same transaction: the dashboard's counts stay exact
        sla_keeping.added(session, rows, now)  # and the SLA clocks, as if they had run
        session.commit()
    search.add_words(session, [*names, *vocabulary])
    session.commit()
    return first


def _row(wf: Workflow, eid: int, n: int, parent_range: tuple[int, int] | None, now: datetime,
         rnd: random.Random, fill: _Fill) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    status = rnd.choice(fill.statuses)
    created = now - timedelta(days=rnd.uniform(20, 900))
    changed = created + (now - created) * rnd.uniform(0.1, 0.9) if status != wf.initial else created
    quiet = rnd.choice((rnd.uniform(0, 30), rnd.uniform(0, 120), rnd.uniform(0, 400)))
    activity = max(changed, now - timedelta(days=quiet))
    if wf.states[status].category != "active":
        activity = changed  # went quiet when it went inactive: the sweep must not wake it
    row = {"id": eid, "type": wf.entity_type, "name": _name(wf.entity_type, rnd, n),
           "status": status, "version": 1 if status == wf.initial else 2,
           "parent_id": rnd.randint(*parent_range) if parent_range else None,
           "last_activity_at": activity,
           "status_changed_at": changed, "created_at": created, "updated_at": changed}
    row["data"] = fill.data(rnd, row)
    return row, list(_history(wf, row, created, changed))


def _history(wf: Workflow, row: dict[str, Any], created: datetime, changed: datetime) -> Iterator[dict]:
    cid = str(uuid.UUID(int=row["id"]))
    yield {"entity_id": row["id"], "old_status": None, "new_status": wf.initial, "action": "create",
           "reason": None, "actor": "seed", "source": "import", "correlation_id": cid,
           "metadata": {"data": {"before": {}, "after": row["data"]}} if row["data"] else {},
           "seconds_in_previous": None, "created_at": created}
    if row["status"] != wf.initial:
        move = wf.find(wf.initial, row["status"])
        yield {"entity_id": row["id"], "old_status": wf.initial, "new_status": row["status"],
               "action": move.name if move else "import", "reason": "demo data", "actor": "seed",
               "source": "import", "correlation_id": cid, "metadata": {},
               "seconds_in_previous": (changed - created).total_seconds(), "created_at": changed}


def _finish(session: Session) -> None:
    """Explicit ids were used: move PostgreSQL's sequence past them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('entities', 'id'), "
                             "(SELECT COALESCE(MAX(id), 1) FROM entities))"))
        session.commit()

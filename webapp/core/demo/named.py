"""Realistic demo values by field name: addresses, prices, licences, vendors, line items, places.

``makers_for`` gives each declared field of a type its maker: the one written for that name
(for that type first: a ``description`` reads differently on a ticket and on a house), when
the declared kind fits it, else one made from the spec alone (``values``), so a field a pack
adds later is filled too, validly. Fields of one row agree where a person would notice:
a community's city, ZIP and site; a house's bedrooms, size and price; a plan and its price.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from webapp.core.demo import values as v
from webapp.core.demo.values import Factory, Maker, Row
from webapp.core.fields.spec import FieldSpec

#: (city, state, first digits of its ZIP codes, lat, lon): where the builders build.
CITIES = [("Austin", "TX", 787, 30.2672, -97.7431), ("Denver", "CO", 802, 39.7392, -104.9903),
          ("Raleigh", "NC", 276, 35.7796, -78.6382), ("Boise", "ID", 837, 43.6150, -116.2023),
          ("Phoenix", "AZ", 850, 33.4484, -112.0740), ("Tampa", "FL", 336, 27.9506, -82.4572),
          ("Nashville", "TN", 372, 36.1627, -86.7816), ("Columbus", "OH", 432, 39.9612, -82.9988),
          ("Sacramento", "CA", 958, 38.5816, -121.4944)]
_STREETS = ["Maple", "Oak", "Pine", "Elm", "Birch", "Walnut", "Sunset", "Hillcrest", "Park",
            "Lake", "River", "Meadow", "Forest", "Spring", "Valley", "Ridge", "Willow", "Cherry"]
_SUFFIX = ["Street", "Avenue", "Lane", "Drive", "Court", "Way", "Place", "Road", "Terrace"]
_VENDORS = ["CoolAir Services", "Prime Plumbing", "BrightSpark Electric", "Summit Facilities",
            "Evergreen Grounds", "Keystone Locksmiths", "ClearView Glass", "Apex Elevators"]
#: (description, lowest and highest unit price).
_LINE_ITEMS = [("Labour (technician hour)", 85, 120), ("HVAC filter 20x25x1", 12, 30),
               ("Copper pipe fitting", 4, 15), ("LED panel light", 40, 95),
               ("Door closer", 60, 180), ("Sealant cartridge", 6, 14), ("Call-out fee", 50, 90),
               ("Thermostat", 70, 240), ("Gate motor capacitor", 25, 60),
               ("Paint, 5 gallons", 90, 210)]
_DESCRIPTIONS = {
    "property": ["Corner lot with a covered patio.", "Open-plan kitchen with quartz counters.",
                 "Backs onto the greenbelt; mature trees.", "Two-car garage and a large pantry.",
                 "Energy Star certified; solar ready.", "Walking distance to the new school."],
    "work_order": ["Reported by the night shift.", "Recurring issue; check the previous order.",
                   "Needs a lift; coordinate with security.", "Out of hours work only."],
    "ticket": ["Started this morning.", "Happens every afternoon around 3 pm.",
               "Several people on the floor are affected.", "Tried restarting it; no change."],
    "feature_flag": ["Gradual rollout of the new checkout.", "Kill switch for the search backend.",
                     "Beta for enterprise customers.", "Experiment: shorter sign-up form."],
}
_PRIORITY_WEIGHTS = {"LOW": 3, "MEDIUM": 4, "HIGH": 2, "CRITICAL": 1}
_PLAN_PRICES = {"FREE": 0, "STARTER": 19, "PRO": 49, "ENTERPRISE": 299}
_FLAG_AREAS = ["checkout", "search", "billing", "onboarding", "reports", "mobile", "api"]
_FLAG_NAMES = ["new_flow", "fast_path", "beta", "redesign", "v2", "dark_launch", "experiment"]
#: Statuses in which an expiring thing is still live: it expires ahead, not behind (the
#: workers would expire every one of them at their first tick otherwise).
_LIVE = frozenset({"pending", "active", "suspended"})


def makers_for(entity_type: str, fields: Mapping[str, FieldSpec], now: datetime,
               ids: Callable[[str], tuple[int, int] | None]) -> list[tuple[str, Maker]]:
    """One maker per declared field, in declared order; ``ids(type)`` is the id range of the
    entities of a type seeded so far (for reference fields)."""
    return [(name, _maker(entity_type, name, spec, now, ids)) for name, spec in fields.items()]


def _maker(entity_type: str, name: str, spec: FieldSpec, now: datetime,
           ids: Callable[[str], tuple[int, int] | None]) -> Maker:
    named = NAMED.get((entity_type, name)) or NAMED.get(name)
    if named is not None and spec.type in named[0]:
        return named[1](spec, now)
    if spec.type == "reference":
        return v.reference(ids(spec.ref_type or ""))
    if spec.type == "list":
        return v.list_of(spec, makers_for(entity_type, spec.item_fields or {}, now, ids))
    if spec.pattern is not None and not spec.required:
        return lambda rnd, row: v.SKIP  # a form only the pack knows: better empty than invalid
    return v.BY_TYPE[spec.type](spec, now)


def _city(row: Row) -> tuple[str, str, int, float, float]:
    """The row's city: the same for every field of the row that needs one."""
    return CITIES[row["id"] % len(CITIES)]


# ------------------------------------------------------------------------ realestate

def _address(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> str:
        city, state, zip3, *_ = _city(row)
        return v.fit(spec, f"{rnd.randint(1, 9999)} {rnd.choice(_STREETS)} {rnd.choice(_SUFFIX)}, "
                           f"{city}, {state} {zip3}{rnd.randint(0, 99):02d}")
    return make


def _bedrooms(spec: FieldSpec, now: datetime) -> Maker:
    lo, hi = v.bounded(spec, 1, 6)
    counts = list(range(math.ceil(lo), math.floor(hi) + 1))
    bag = v.weighted(counts, [3 if 2 <= n <= 4 else 1 for n in counts])
    return lambda rnd, row: rnd.choice(bag)


def _bathrooms(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> str:
        beds = row["data"].get("bedrooms", 3)
        halves = max(2, min(2 * int(spec.max or 50), 2 * beds + rnd.choice((-2, -1, 0, 0, 1))))
        return format(halves / 2, "g")
    return make


def _square_feet(spec: FieldSpec, now: datetime) -> Maker:
    lo, hi = v.bounded(spec, 500, 20_000)

    def make(rnd: random.Random, row: Row) -> int:
        beds = row["data"].get("bedrooms", 3)
        return int(min(hi, max(lo, (400 + beds * rnd.uniform(350, 650)) // 10 * 10)))
    return make


def _price(spec: FieldSpec, now: datetime) -> Maker:
    lo, hi = v.bounded(spec, 50_000, 5_000_000)

    def make(rnd: random.Random, row: Row) -> str:
        size = row["data"].get("square_feet") or 1_800
        rounded = int(size * rnd.uniform(140, 420)) // 5_000 * 5_000  # as listings are priced
        return str(min(math.floor(hi), max(math.ceil(lo), rounded)))
    return make


def _listed_on(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> str:
        created = row["created_at"]
        return (created + (now - created) * rnd.random() * 0.2).date().isoformat()
    return make


def _license(spec: FieldSpec, now: datetime) -> Maker:
    # State and a number from the row id: unique within the type, as the field declares.
    return lambda rnd, row: v.fit(spec, f"{_city(row)[1]}-{1_000_000 + row['id']}")


def _company_email(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: f"sales@{_domain(row['name'])}"


def _website(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: f"https://www.{_domain(row['name'])}"


def _domain(name: str) -> str:
    return f"{v.slug(name).replace('.', '')[:40] or 'builder'}.example.com"


def _headquarters(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: v.fit(spec, "{}, {}".format(*_city(row)))


def _city_name(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: v.fit(spec, _city(row)[0])


def _postal_code(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: f"{_city(row)[2]}{rnd.randint(0, 99):02d}"


def _community_site(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> dict[str, float]:
        *_, lat, lon = _city(row)  # a new development 2 to 15 km out of town
        return v.near(rnd, lat, lon, rnd.uniform(2_000, 15_000))
    return make


def _person_email(spec: FieldSpec, now: datetime) -> Maker:
    # The person the row is named after; the row id keeps addresses unique.
    return lambda rnd, row: f"{v.slug(row['name'])[:40]}.{row['id']}@{rnd.choice(v.DOMAINS)}"


# ------------------------------------------------------------------------ facilities

def _vendor(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: v.fit(spec, rnd.choice(_VENDORS))


def _priority(spec: FieldSpec, now: datetime) -> Maker:
    options = list(spec.choices or ())
    bag = v.weighted(options, [_PRIORITY_WEIGHTS.get(c, 2) for c in options])
    return lambda rnd, row: rnd.choice(bag)


def _line_items(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> list[dict[str, Any]]:
        return [{"description": what, "quantity": rnd.randint(1, 8),
                 "unit_price": v.money(rnd.uniform(low, high))}
                for what, low, high in rnd.sample(_LINE_ITEMS, rnd.randint(1, 4))]
    return make


def _meter(spec: FieldSpec, now: datetime) -> Maker:
    lo, hi = v.bounded(spec, 1_000, 99_999)
    return lambda rnd, row: f"{rnd.uniform(lo, hi):.1f}"


def _hours(spec: FieldSpec, now: datetime) -> Maker:
    lo, hi = v.bounded(spec, 4, 12)
    quarters = [q / 4 for q in range(math.ceil(lo * 4), math.floor(hi * 4) + 1)]
    bag = [format(q, "g") for q in v.weighted(quarters, [24 if q == 8 else 1 for q in quarters])]
    return lambda rnd, row: rnd.choice(bag)  # most shifts are a plain 8 hours


def _site_name(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: v.fit(spec, rnd.choice(v.SITES)[0])


def _site(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> dict[str, float]:
        _, lat, lon = rnd.choice(v.SITES)
        return {"lat": lat, "lon": lon}
    return make


def _checked_in_at(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> str:
        day = row["created_at"].replace(hour=6, minute=0, second=0, microsecond=0)
        return v.moment(day + timedelta(minutes=rnd.uniform(0, 210)))  # 06:00 to 09:30
    return make


def _customer_email(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> str:
        who = row["data"].get("customer_name") or v.person(rnd)
        return f"{v.slug(who)}@{rnd.choice(v.DOMAINS)}"
    return make


def _person(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: v.fit(spec, v.person(rnd))


# -------------------------------------------------------------------------- accounts

def _own_name(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: v.fit(spec, row["name"])


def _amount(spec: FieldSpec, now: datetime) -> Maker:
    lo, hi = v.bounded(spec, 5, 2_500)
    return lambda rnd, row: v.money(lo + (hi - lo) * rnd.random() ** 3)  # mostly small


def _payment_reference(spec: FieldSpec, now: datetime) -> Maker:
    # Unique within the type (it declares so): the row id, then random hex as processors do.
    return lambda rnd, row: f"pi_{row['id']:09d}{rnd.getrandbits(40):010x}"


def _monthly_price(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> str:
        plan = row["data"].get("plan")
        return v.money(_PLAN_PRICES.get(plan, rnd.choice(list(_PLAN_PRICES.values()))))
    return make


def _flag_key(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: f"{rnd.choice(_FLAG_AREAS)}.{rnd.choice(_FLAG_NAMES)}_{row['id']}"


def _expires_at(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> str:
        if row["status"] in _LIVE:
            return v.moment(now + timedelta(days=rnd.uniform(5, 400)))
        return v.moment(row["updated_at"] - timedelta(days=rnd.uniform(0, 3)))
    return make


def _of(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


TEXT, DECIMAL, INTEGER, DATE, USER = (_of(k) for k in ("text", "decimal", "integer", "date", "user"))
#: By field name, or by (type, field name) where a type means something else by it: the kinds
#: of field each maker fits, and its factory.
NAMED: dict[Any, tuple[frozenset[str], Factory]] = {
    # realestate
    "address": (TEXT | {"textarea"}, _address), "bedrooms": (INTEGER, _bedrooms),
    "bathrooms": (DECIMAL, _bathrooms), "square_feet": (INTEGER, _square_feet),
    "price": (DECIMAL | INTEGER, _price), "listed_on": (DATE, _listed_on),
    "license_number": (TEXT, _license), "contact_email": (_of("email"), _company_email),
    "website": (_of("url"), _website), "headquarters": (TEXT, _headquarters),
    "founded_year": (INTEGER, v.whole_between(1950, 2020)), "city": (TEXT, _city_name),
    "postal_code": (TEXT, _postal_code), "total_lots": (INTEGER, v.whole_between(40, 600)),
    "hoa_fee": (DECIMAL, v.money_between(0, 450)), "opened_on": (DATE, v.after_created(0, 90)),
    ("community", "site_location"): (_of("location"), _community_site),
    "email": (_of("email"), _person_email), "hired_on": (DATE, v.after_created(0, 30)),
    "commission_rate": (DECIMAL, v.money_between(1.5, 6)),
    # facilities
    "vendor": (TEXT, _vendor), "priority": (_of("choice"), _priority), "site": (TEXT, _site_name),
    "due_on": (DATE, v.after_created(3, 30)),
    "due_at": (_of("datetime"), v.after_created(0.2, 5, with_time=True)),
    "line_items": (_of("list"), _line_items), "meter_reading": (DECIMAL, _meter),
    "hours": (DECIMAL, _hours), "site_location": (_of("location"), _site),
    "work_date": (DATE, v.after_created(0, 0)), "checked_in_at": (_of("datetime"), _checked_in_at),
    "customer_name": (TEXT, _person), "customer_email": (_of("email"), _customer_email),
    "assignee": (USER, v.BY_TYPE["user"]), "worker": (USER, v.BY_TYPE["user"]),
    "owner": (USER, v.BY_TYPE["user"]),
    # accounts
    "full_name": (TEXT, _own_name), "signed_up_on": (DATE, v.after_created(0, 0)),
    "country": (TEXT, v.pick(["US", "US", "US", "CA", "GB", "DE", "FR", "NL", "AU", "JP", "BR"])),
    "amount": (DECIMAL, _amount), "currency": (TEXT, v.pick(["USD", "USD", "EUR", "GBP", "CAD"])),
    ("transaction", "reference"): (TEXT, _payment_reference),
    "occurred_at": (_of("datetime"), v.after_created(0, 0.01, with_time=True)),
    "seats": (INTEGER, v.whole_between(1, 50)), "monthly_price": (DECIMAL, _monthly_price),
    "key": (TEXT, _flag_key), "rollout_percent": (INTEGER, v.pick([0, 5, 10, 25, 50, 100])),
    "expires_at": (_of("datetime"), _expires_at),
    **{(t, "description"): (_of("textarea"), v.notes(pool)) for t, pool in _DESCRIPTIONS.items()},
}

"""Demo values from a field's spec alone, and the pieces realistic values are made of.

A maker is ``maker(rnd, row) -> value``, called once per inserted row: ``row`` is the entity
row being built (its id, name, status, created_at, updated_at) and ``row["data"]`` the fields
made so far, in declared order, so a later field can agree with an earlier one (a bathroom
count with the bedrooms). Values are in the form validation stores (decimals as strings, dates
ISO, datetimes UTC with Z, phones as digits), so the seed inserts them as they are. The makers
here fit any declared field, within its bounds; ``named`` has the realistic ones.
"""
from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from webapp.core.fields.spec import FieldSpec

Row = dict[str, Any]
Maker = Callable[[random.Random, Row], Any]
#: A factory builds a field's maker once per type: ``factory(spec, now)``.
Factory = Callable[[FieldSpec, datetime], Maker]
#: What a maker returns to leave the field out of this row.
SKIP = object()

#: People who take tasks and check in: demo users, so `user` fields name real accounts.
DEMO_USERS = ("olivia.garcia", "liam.nguyen", "emma.okafor", "noah.patel", "ava.kowalski",
              "mateo.rossi", "sofia.haddad", "kenji.tanaka", "priya.silva", "diego.dubois",
              "fatima.kim", "ivan.anderson")
#: Where facilities work happens: (name, lat, lon). Check-ins fall around these.
SITES = (("Harbor Point Campus", 37.79493, -122.39432), ("Riverside Plant", 41.88692, -87.63816),
         ("Summit Office Park", 39.74221, -104.99153), ("Lakeside Depot", 47.60621, -122.33207),
         ("Granite Tower", 42.35843, -71.05977), ("Crescent Mall", 33.74900, -84.38798),
         ("Meadow Logistics Hub", 32.77666, -96.79699), ("Aspen Labs", 30.26715, -97.74306))
FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Amara",
         "Kenji", "Priya", "Diego", "Fatima", "Hannah", "Omar", "Chloe", "Ivan"]
LAST = ["Garcia", "Smith", "Nguyen", "Johnson", "Okafor", "Patel", "Kowalski", "Brown", "Rossi",
        "Haddad", "Muller", "Kim", "Silva", "Anderson", "Dubois", "Tanaka"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]
NOTES = ["Customer prefers mornings.", "Access through the loading dock.",
         "Follow up after the inspection.", "Parts ordered; waiting for delivery.",
         "Checked and signed off by the site manager.", "Bring the long ladder.",
         "Tenant will be on site from 9 to 5.", "Photos attached to the last report."]
_SLUG = re.compile(r"[^a-z0-9]+")
#: Meters per degree of latitude (and of longitude at the equator).
_DEGREE_M = 111_195.0


# --------------------------------------------------------------------------- helpers

def person(rnd: random.Random) -> str:
    return f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"


def slug(text: str) -> str:
    """``Müller Homes`` -> ``m.ller.homes``: a name as the local part of an address."""
    return _SLUG.sub(".", text.lower()).strip(".")


def money(amount: float) -> str:
    """An amount as validation stores a decimal: ``"1249.50"``."""
    return f"{amount:.2f}"


def moment(when: datetime) -> str:
    """A datetime as validation stores it: UTC, to the second, with Z."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def bounded(spec: FieldSpec, low: float, high: float) -> tuple[float, float]:
    """``low..high`` narrowed to the spec's bounds (a pack may bound a field tighter)."""
    lo = max(low, float(spec.min)) if spec.min is not None else low
    hi = min(high, float(spec.max)) if spec.max is not None else high
    return (lo, hi) if lo <= hi else (hi, hi)


def fit(spec: FieldSpec, text: str) -> str:
    return text[:spec.max_length] if spec.max_length else text


def near(rnd: random.Random, lat: float, lon: float, meters: float) -> dict[str, float]:
    """A point ``meters`` from (lat, lon) in a random direction (exact to centimetres at these
    distances), rounded as a phone's GPS reports it (6 decimals, ~0.1 m)."""
    bearing = rnd.uniform(0, 2 * math.pi)
    dlat = meters * math.cos(bearing) / _DEGREE_M
    dlon = meters * math.sin(bearing) / (_DEGREE_M * math.cos(math.radians(lat)))
    return {"lat": round(lat + dlat, 6), "lon": round(lon + dlon, 6)}


def weighted(options: list[Any], weights: list[int]) -> list[Any]:
    """Each option repeated by its weight: ``rnd.choice`` of it is a weighted pick, several
    times cheaper than ``rnd.choices`` (a million rows make millions of picks)."""
    return [o for o, w in zip(options, weights, strict=True) for _ in range(w)]


def pick(options: list[Any]) -> Factory:
    """Any one of ``options``."""
    return lambda spec, now: lambda rnd, row: rnd.choice(options)


def whole_between(low: int, high: int) -> Factory:
    def factory(spec: FieldSpec, now: datetime) -> Maker:
        lo, hi = bounded(spec, low, high)
        return lambda rnd, row: rnd.randint(math.ceil(lo), math.floor(hi))
    return factory


def money_between(low: float, high: float) -> Factory:
    def factory(spec: FieldSpec, now: datetime) -> Maker:
        lo, hi = bounded(spec, low, high)
        return lambda rnd, row: money(rnd.uniform(lo, hi))
    return factory


def after_created(low_days: float, high_days: float, with_time: bool = False) -> Factory:
    """A date (or date and time) some days after the entity was created: due dates, hires."""
    def factory(spec: FieldSpec, now: datetime) -> Maker:
        def make(rnd: random.Random, row: Row) -> str:
            when = row["created_at"] + timedelta(days=rnd.uniform(low_days, high_days))
            return moment(when) if with_time else when.date().isoformat()
        return make
    return factory


def notes(pool: list[str]) -> Factory:
    """Two sentences of ``pool``: what a person writes in a description."""
    return lambda spec, now: lambda rnd, row: fit(spec, " ".join(rnd.sample(pool, 2)))


# --------------------------------------------------------------------- by spec alone

def _text(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: fit(spec, row["name"][:60])


def _decimal(spec: FieldSpec, now: datetime) -> Maker:
    lo, hi = bounded(spec, 0, 1_000)
    return lambda rnd, row: f"{min(hi, max(lo, round(rnd.uniform(lo, hi), 2))):.2f}"


def _boolean(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: rnd.random() < 0.5


def _choice(spec: FieldSpec, now: datetime) -> Maker:
    options = list(spec.choices or ())
    return lambda rnd, row: rnd.choice(options)


def _email(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: f"{slug(person(rnd))}@{rnd.choice(DOMAINS)}"


def _url(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: f"https://www.example.com/{slug(row['name'])[:40]}-{row['id']}"


def _phone(spec: FieldSpec, now: datetime) -> Maker:
    # "+1", an area code and 555-01xx: the numbers reserved for fiction.
    return lambda rnd, row: f"+1{rnd.choice((212, 303, 512, 614, 720, 919))}55501{rnd.randint(0, 99):02d}"


def _user(spec: FieldSpec, now: datetime) -> Maker:
    return lambda rnd, row: rnd.choice(DEMO_USERS)


def _location(spec: FieldSpec, now: datetime) -> Maker:
    def make(rnd: random.Random, row: Row) -> dict[str, float]:
        _, lat, lon = rnd.choice(SITES)
        return near(rnd, lat, lon, rnd.uniform(0, 150))
    return make


BY_TYPE: dict[str, Factory] = {
    "text": _text, "textarea": notes(NOTES), "integer": whole_between(0, 100),
    "decimal": _decimal, "boolean": _boolean, "date": after_created(0, 60),
    "datetime": after_created(0, 3, with_time=True), "choice": _choice, "email": _email,
    "url": _url, "phone": _phone, "user": _user, "location": _location,
}


def reference(span: tuple[int, int] | None) -> Maker:
    """An id among the entities of the referenced type seeded so far (none yet: left out)."""
    if span is None:
        return lambda rnd, row: SKIP
    return lambda rnd, row: rnd.randint(*span)


def list_of(spec: FieldSpec, items: list[tuple[str, Maker]]) -> Maker:
    """A few items, each with its own fields made."""
    lo, hi = bounded(spec, 1, 3)

    def make(rnd: random.Random, row: Row) -> list[dict[str, Any]]:
        made = [{n: item(rnd, row) for n, item in items}
                for _ in range(rnd.randint(math.ceil(lo), math.floor(hi)))]
        return [{k: v for k, v in one.items() if v is not SKIP} for one in made]
    return make

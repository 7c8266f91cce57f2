"""A bulk chunk's data is checked as one batch (``validation.check_many``): the same sentences
as checking each entity in turn, while the database is asked once per kind of lookup for the
whole chunk, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.factories import make_manager, make_user
from webapp.core.base.actor import Actor
from webapp.core.bulk import operations as bulk
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.core.fields.spec import parse_fields
from webapp.core.fields.validation import Lookups, check, check_many
from webapp.models import Entity

ADMIN = Actor("ada", "admin")
SPECS = parse_fields({
    "code": {"type": "text", "unique": True, "max_length": 8},
    "contact": {"type": "email", "unique": True},
    "owner": {"type": "user"},
    "builder": {"type": "reference", "ref_type": "builder"},
    "count": {"type": "integer", "min": 0},
})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request) -> tuple[Session, StateManager]:
    """A session with the packs, a user ``olga`` and two builders (one with code B-1)."""
    session = request.getfixturevalue("session" if request.param == "sqlite" else "pg_session")
    clock = request.getfixturevalue("clock")
    sm = make_manager(session, clock, ADMIN)
    make_user(session, username="olga", role="support")
    for name, data in (("Harbour", {"code": "B-1", "contact": "desk@harbour.test"}), ("Pine", {})):
        session.add(Entity(type="builder", name=name, status="active", data=data,
                           last_activity_at=clock(), status_changed_at=clock(),
                           created_at=clock(), updated_at=clock()))
    session.commit()
    return session, sm


def _items(session: Session) -> list[tuple[dict, dict, int]]:
    builders = sorted(e.id for e in session.query(Entity).filter_by(type="builder"))
    datas = [
        {"code": "A-1", "owner": "olga", "builder": builders[0], "count": 1},
        {"code": "B-1"},                                  # held by a stored builder
        {"code": "A-1"},                                  # taken earlier in this batch
        {"contact": "DESK@harbour.test"},                 # held, without regard to case
        {"owner": "nobody", "builder": 999_999},          # no such user, no such builder
        {"count": -1, "code": "much-too-long"},           # shapes
        {"code": "C-1", "colour": "red"},                 # an undeclared key
        {"code": "C-1"},                                  # C-1 was not taken: that one failed
    ]
    return [(d, {}, 10_000 + n) for n, d in enumerate(datas)]


def test_a_batch_says_what_checking_one_entity_after_another_says(db):
    session, _ = db
    items = _items(session)

    batch = check_many(SPECS, items, lookups=Lookups(session, "builder"), creating=False)
    one_by_one = Lookups(session, "builder")
    single = [check(SPECS, d, lookups=one_by_one, creating=False, before=b, entity_id=i)
              for d, b, i in items]

    assert batch == single
    errors = [e for _, e in batch]
    assert errors[0] == {}
    assert errors[1] == {"data.code": "Code must be unique: another builder has 'B-1'."}
    assert errors[2] == {"data.code": "Code must be unique: another builder has 'A-1'."}
    assert errors[3] == {"data.contact":
                         "Contact must be unique: another builder has 'DESK@harbour.test'."}
    assert set(errors[4]) == {"data.owner", "data.builder"}
    assert errors[7] == {}


def test_a_batch_asks_the_database_once_per_kind_of_lookup(db):
    session, _ = db
    builders = sorted(e.id for e in session.query(Entity).filter_by(type="builder"))
    items = [({"code": f"N-{n}", "contact": f"c{n}@x.test", "owner": "olga",
               "builder": builders[n % 2]}, {}, 20_000 + n) for n in range(300)]
    statements: list[str] = []
    listen = (session.get_bind(), "before_cursor_execute")
    def record(*args) -> None:
        statements.append(args[2])

    event.listen(*listen, record)
    try:
        results = check_many(SPECS, items, lookups=Lookups(session, "builder"), creating=False)
    finally:
        event.remove(*listen, record)

    assert all(errors == {} for _, errors in results)
    assert len(statements) == 4  # references, users, code, contact: one IN query each


def test_a_bulk_update_giving_many_entities_one_unique_value_keeps_the_first(db):
    session, sm = db
    builders = [sm.create_entity(session, ADMIN, type="builder", name=f"Oak {n}").id
                for n in range(3)]

    result = bulk.run(session, sm, ADMIN, BulkRequest(
        "update", tuple(builders), update_data={"license_number": "CA-7"},
        rollback_on_error=False), "cid-batch")

    assert result.successful_ids == builders[:1]
    assert result.failure_details == {b: "License number must be unique: another builder has "
                                         "'CA-7'." for b in builders[1:]}


def test_a_value_read_once_is_read_by_its_own_fields_rules_everywhere():
    specs = parse_fields({"small": {"type": "integer", "max": 5},
                          "big": {"type": "integer", "min": 100}})
    items = [({"small": 7, "big": 7}, {}, n) for n in range(3)] + [({"small": 3}, {}, 9)]

    results = check_many(specs, items, lookups=Lookups(None, "gadget"), creating=False)

    assert [errors for _, errors in results] == [
        {"data.small": "Small must be a whole number of at most 5.",
         "data.big": "Big must be a whole number of at least 100."}] * 3 + [{}]

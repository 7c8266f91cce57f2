"""seed-demo's data as a person meets it: every declared field of every pack type filled with a
value its own validation accepts, consistent with the workflow's rules, sensitive values sealed."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.factories import make_entity, make_manager
from webapp.core.base.sealed import is_sealed
from webapp.core.changes.manager import StateManager
from webapp.core.demo import seed, values
from webapp.core.fields.validation import Lookups, validate
from webapp.core.workflows.rules import distance_m
from webapp.extensions import db
from webapp.models import Entity, User

SIZE = 600


@pytest.fixture
def seeded(manager, session, clock):
    """The packs' demo data at a small size, sealed with the manager's keyring."""
    seed.seed(session, manager.workflows.all(session), SIZE, clock(), keyring=manager.keyring)
    return manager.workflows.all(session)


def _by_type(session, entity_type):
    return session.scalars(select(Entity).where(Entity.type == entity_type)).all()


def test_every_declared_field_of_every_pack_type_is_filled_somewhere(seeded, session):
    empty = {}
    for entity_type, wf in seeded.items():
        filled = set().union(*(e.data for e in _by_type(session, entity_type)))
        if missing := set(wf.fields) - filled:
            empty[entity_type] = sorted(missing)
    assert all(wf.fields for wf in seeded.values())
    assert empty == {}


def test_every_seeded_entity_passes_its_types_validation_as_stored(seeded, session, manager):
    refused = {}
    for entity_type, wf in seeded.items():
        lookups = Lookups(session, entity_type)
        for e in _by_type(session, entity_type):
            plain = manager.keyring.unseal(wf.fields, e.data)
            try:
                stored = validate(wf.fields, plain, lookups=lookups, creating=True, entity_id=e.id)
            except Exception as err:  # noqa: BLE001 -- collected to show every type's first
                refused.setdefault(entity_type, (e.id, plain, getattr(err, "fields", err)))
                continue
            if stored != plain:  # already in the form validation stores
                refused.setdefault(entity_type, (e.id, plain, stored))
    assert refused == {}


def test_sensitive_fields_are_stored_sealed_and_never_in_plain_text(seeded, session, manager):
    sensitive = {(t, name) for t, wf in seeded.items() for name, spec in wf.fields.items()
                 if spec.sensitive}
    assert {("sales_rep", "phone"), ("ticket", "customer_email"),
            ("user_account", "email")} <= sensitive
    for entity_type, name in sensitive:
        rows = [e for e in _by_type(session, entity_type) if name in e.data]
        assert rows, (entity_type, name)
        assert all(is_sealed(e.data[name]) for e in rows)
        plain = manager.keyring.unseal(seeded[entity_type].fields, rows[0].data)[name]
        raw = session.execute(text("SELECT count(*) FROM entities WHERE CAST(data AS TEXT) "
                                   "LIKE :p"), {"p": f"%{plain}%"}).scalar()
        assert raw == 0, (entity_type, name, plain)


def test_without_a_keyring_sensitive_fields_are_left_out_not_stored_plain(manager, session, clock):
    seed.seed(session, manager.workflows.all(session), 200, clock(), types=["sales_rep"])
    reps = _by_type(session, "sales_rep")
    assert reps and all("phone" not in e.data and "email" in e.data for e in reps)


def test_people_fields_name_demo_users_who_exist_but_cannot_sign_in(seeded, session):
    named = {e.data[f] for t in ("task", "attendance", "work_order") for e in _by_type(session, t)
             for f in ("assignee", "worker") if f in e.data}
    users = {u.username: u for u in session.scalars(select(User))}
    assert named and named <= set(users)
    assert all(users[n].role == "support" and not users[n].password_hash.startswith("$argon2")
               for n in named)


def test_seeding_twice_does_not_duplicate_the_demo_users(seeded, manager, session, clock):
    seed.seed(session, manager.workflows.all(session), 50, clock(), keyring=manager.keyring)
    names = list(session.scalars(select(User.username).where(
        User.username.in_(values.DEMO_USERS))))
    assert sorted(names) == sorted(values.DEMO_USERS)


def test_approved_attendance_checked_in_inside_the_geofence_and_some_pending_did_not(
        seeded, session):
    def away(e):
        here, site = e.data["check_in_location"], e.data["site_location"]
        return distance_m((here["lat"], here["lon"]), (site["lat"], site["lon"]))

    sheets = _by_type(session, "attendance")
    approved = [away(e) for e in sheets if e.status == "APPROVED"]
    pending = [away(e) for e in sheets if e.status == "PENDING"]
    assert approved and max(approved) <= 200
    assert pending and sum(d <= 200 for d in pending) / len(pending) >= 0.7
    assert any(d > 200 for e in sheets for d in [away(e)])


def test_work_orders_past_approval_have_a_vendor_and_completed_ones_line_items(seeded, session):
    orders = _by_type(session, "work_order")
    past = [e for e in orders if e.status in ("APPROVED", "IN_PROGRESS", "COMPLETED", "CLOSED")]
    done = [e for e in orders if e.status in ("COMPLETED", "CLOSED")]
    assert past and all(e.data.get("vendor") for e in past)
    assert done and all(e.data.get("line_items") for e in done)
    assert any("vendor" not in e.data for e in orders if e.status in ("DRAFT", "SUBMITTED"))


def test_live_subscriptions_expire_ahead_and_expired_ones_behind(seeded, session, clock):
    now = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    subs = _by_type(session, "subscription") + _by_type(session, "feature_flag")
    assert all(e.data["expires_at"] > now for e in subs if e.status == "active")
    assert all(e.data["expires_at"] < now for e in subs if e.status == "expired")


def test_properties_name_a_listing_agent_who_is_a_seeded_sales_rep(seeded, session):
    reps = {e.id for e in _by_type(session, "sales_rep")}
    agents = {e.data["listing_agent"] for e in _by_type(session, "property")}
    assert agents and agents <= reps


def test_the_seed_demo_command_seals_with_the_apps_keyring(make_app):
    app = make_app()
    with app.app_context():  # as `flask` gives every command
        result = app.test_cli_runner().invoke(args=["seed-demo", "--size", "300"])

    assert result.exit_code == 0, result.output
    assert "Loaded" in result.output
    with app.app_context():
        sm = StateManager.get_instance()
        rep = db.session.scalars(select(Entity).where(Entity.type == "sales_rep")).first()
        assert is_sealed(rep.data["phone"])
        specs = sm.workflows.get(db.session, "sales_rep").fields
        assert sm.keyring.unseal(specs, rep.data)["phone"].startswith("+1")


def test_on_postgresql_the_seed_stores_the_same_valid_sealed_data(pg_session, clock, admin):
    manager = make_manager(pg_session, clock, admin)
    workflows = manager.workflows.all(pg_session)

    seed.seed(pg_session, workflows, 300, clock(), keyring=manager.keyring)

    reps = _by_type(pg_session, "sales_rep")
    assert reps and all(is_sealed(e.data["phone"]) for e in reps if "phone" in e.data)
    for e in _by_type(pg_session, "attendance"):
        plain = manager.keyring.unseal(workflows["attendance"].fields, e.data)
        assert validate(workflows["attendance"].fields, plain, creating=True, entity_id=e.id,
                        lookups=Lookups(pg_session, "attendance")) == plain
    made = make_entity(manager, pg_session, admin, "ticket", data={"priority": "LOW"})
    assert made.id > max(e.id for e in _by_type(pg_session, "feature_flag"))

"""What each command writes (history, audit, outbox) and the tamper-evident audit chain."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.factories import count_rows, make_entity, make_manager, make_realestate
from webapp.core.audit import chain as audit
from webapp.core.changes import history
from webapp.models import AuditEntry, OutboxEvent


def _latest_audit(session) -> AuditEntry:
    session.rollback()
    return session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()


def _update(manager, session, actor):
    order = make_entity(manager, session, actor, "work_order")
    yield
    manager.update_entity(session, actor, order.id, version=1, data={"vendor": "Acme"})


def _transition(manager, session, actor):
    prop = make_entity(manager, session, actor, "property")
    yield
    manager.transition(session, actor, prop.id, "pending")


def _cascade(manager, session, actor):
    estate = make_realestate(manager, session, actor, properties=3, reps=2)
    yield
    manager.transition(session, actor, estate.builder.id, "out_of_business")


def _revert(manager, session, actor):
    prop = make_entity(manager, session, actor, "property")
    manager.transition(session, actor, prop.id, "reserved")
    change = history.page(session, prop.id, limit=1)[0][0]
    yield
    manager.revert(session, actor, prop.id, change_id=change.id, reason="wrong lot")


def _reactivation(manager, session, actor):
    rep = make_entity(manager, session, actor, "sales_rep", status="inactive")
    yield
    manager.record_activity(session, actor, rep.id, note="called a buyer")


def _creation(manager, session, actor):
    yield
    make_entity(manager, session, actor, "work_order", data={"vendor": "Acme"})


# name -> (scenario, entities created, history rows, outbox rows)
COMMANDS = {
    "create": (_creation, 1, 1, 1),
    "update": (_update, 0, 1, 1),
    "transition": (_transition, 0, 1, 1),
    "transition with cascades": (_cascade, 0, 1 + 3 + 2, 1 + 3 + 2),
    "revert": (_revert, 0, 1, 1),
    "activity that reactivates": (_reactivation, 0, 1, 1),
}


@pytest.mark.parametrize("scenario, created, changed, events", COMMANDS.values(),
                         ids=COMMANDS.keys())
def test_each_command_writes_one_history_row_per_changed_entity_audit_and_outbox_rows(
        manager, session, support, scenario, created, changed, events):
    steps = scenario(manager, session, support)
    next(steps)  # set up
    before = count_rows(session)
    with pytest.raises(StopIteration):
        next(steps)  # the command
    after = count_rows(session)
    grew = {table: after[table] - before[table] for table in after}
    assert grew["entities"] == created
    assert grew["status_changes"] == changed
    assert grew["outbox_events"] == events
    assert grew["audit_entries"] >= 1
    result = audit.verify(session)
    assert (result.ok, result.checked, result.first_bad_id) == (True, after["audit_entries"], None)


def test_recording_activity_is_audited(manager, session, support):
    rep = make_entity(manager, session, support, "sales_rep")
    before = count_rows(session)
    manager.record_activity(session, support, rep.id, note="called a buyer")
    assert count_rows(session)["audit_entries"] == before["audit_entries"] + 1


def test_recording_activity_on_an_active_entity_changes_no_status(manager, session, support, clock):
    rep = make_entity(manager, session, support, "sales_rep")
    clock.advance(days=5)
    before = count_rows(session)
    outcome = manager.record_activity(session, support, rep.id)
    assert (outcome.entity.status, outcome.entity.last_activity_at) == ("active", clock())
    assert outcome.entity.version == 2
    assert count_rows(session)["status_changes"] == before["status_changes"]


def test_an_audit_row_says_who_did_what_to_which_object(manager, session, admin):
    prop = make_entity(manager, session, admin, "property")
    outcome = manager.transition(session, admin, prop.id, "pending", reason="viewing booked")
    entry = _latest_audit(session)
    assert (entry.actor, entry.ip, entry.user_agent, entry.event_type, entry.object_type,
            entry.object_id, entry.correlation_id, entry.message) == (
        "ada", "203.0.113.7", "pytest", "entity.transition", "property", str(prop.id),
        outcome.correlation_id, "viewing booked")
    assert entry.diff == {"before": {"status": "available"}, "after": {"status": "pending"},
                          "extra": {"action": "hold", "source": "api"}}


def test_an_update_is_audited_with_only_what_changed(manager, session, support):
    order = make_entity(manager, session, support, "work_order", name="Roof",
                        data={"vendor": "Acme", "priority": "LOW"})
    manager.update_entity(session, support, order.id, version=1, data={"priority": "HIGH"})
    assert _latest_audit(session).diff == {"before": {"data": {"vendor": "Acme", "priority": "LOW"}},
                                           "after": {"data": {"vendor": "Acme", "priority": "HIGH"}}}


def test_the_outbox_holds_a_status_changed_event_per_changed_entity(manager, session, support):
    estate = make_realestate(manager, session, support, properties=2, reps=1)
    outcome = manager.transition(session, support, estate.builder.id, "out_of_business")
    session.rollback()
    rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "StatusChanged")
                           .order_by(OutboxEvent.id)).all()
    assert sorted(r.entity_id for r in rows) == sorted([estate.builder.id, *outcome.cascaded])
    assert {r.payload["correlation_id"] for r in rows} == {outcome.correlation_id}
    assert {r.state for r in rows} == {"pending"}
    assert len({r.idempotency_key for r in rows}) == len(rows)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request, clock, support):
    """(manager, session) on SQLite, then on PostgreSQL."""
    session = request.getfixturevalue("session" if request.param == "sqlite" else "pg_session")
    return make_manager(session, clock, support), session


def test_a_data_update_is_an_entity_updated_event_not_a_status_change(any_db, support):
    manager, session = any_db
    order = make_entity(manager, session, support, "work_order", data={"vendor": "Acme"})
    heard = []
    manager.on_commit("work_order", heard.append)

    manager.update_entity(session, support, order.id, version=1, data={"vendor": "Prime"})

    session.rollback()
    row = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert (row.event_type, row.payload["event"]) == ("EntityUpdated", "EntityUpdated")
    assert row.payload["old_status"] == row.payload["new_status"] == order.status
    assert [e["event"] for e in heard] == ["EntityUpdated"]


def test_a_failed_command_writes_no_audit_row_and_leaves_the_chain_intact(
        manager, session, support):
    prop = make_entity(manager, session, support, "property")
    before = count_rows(session)
    with pytest.raises(Exception):  # noqa: B017 -- any refusal
        manager.transition(session, support, prop.id, "sold")
    assert count_rows(session) == before
    assert audit.verify(session).ok


# ----------------------------------------------------------------------- tampering


@pytest.fixture
def chain(manager, session, support):
    """A few commands' worth of audit rows; returns their ids in order."""
    estate = make_realestate(manager, session, support, properties=2, reps=1)
    manager.transition(session, support, estate.properties[0].id, "pending", reason="viewing")
    manager.update_entity(session, support, estate.builder.id, version=1, name="Renamed Homes")
    session.rollback()
    return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def _tamper(session, sql, **params):
    session.rollback()
    session.execute(text(sql), params)
    session.commit()


def test_an_untouched_chain_verifies(session, chain):
    assert audit.verify(session) == audit.VerifyResult(True, len(chain), None)


def test_verify_walks_the_chain_in_batches(session, chain):
    assert audit.verify(session, batch=3) == audit.VerifyResult(True, len(chain), None)


@pytest.mark.parametrize("column, value", [
    ("message", "nothing to see here"), ("actor", "mallory"), ("event_type", "entity.view"),
    ("diff", '{"before": {}, "after": {}}'), ("object_id", "999"),
])
def test_editing_any_field_of_an_audit_row_is_reported_at_that_row(session, chain, column, value):
    victim = chain[len(chain) // 2]
    _tamper(session, f"UPDATE audit_entries SET {column} = :v WHERE id = :id", v=value, id=victim)
    result = audit.verify(session)
    assert (result.ok, result.first_bad_id, result.checked) == (
        False, victim, chain.index(victim))


def test_editing_the_message_of_the_last_row_is_reported(session, chain):
    _tamper(session, "UPDATE audit_entries SET message = 'hidden' WHERE id = :id", id=chain[-1])
    assert audit.verify(session).first_bad_id == chain[-1]


def test_deleting_an_audit_row_is_reported_at_the_row_after_it(session, chain):
    _tamper(session, "DELETE FROM audit_entries WHERE id = :id", id=chain[3])
    assert audit.verify(session).first_bad_id == chain[4]


def test_rehashing_a_tampered_row_is_still_caught_at_the_next_row(session, chain):
    victim = chain[2]
    _tamper(session, "UPDATE audit_entries SET message = 'rewritten' WHERE id = :id", id=victim)
    row = session.get(AuditEntry, victim)
    forged = audit.entry_hash(row, row.prev_hash)
    _tamper(session, "UPDATE audit_entries SET hash = :h WHERE id = :id", h=forged, id=victim)
    assert audit.verify(session).first_bad_id == chain[3]


def _rewrite_from(session, victim: int, message: str) -> None:
    """What someone with write access to the database could do: change a row and rehash it
    and every row after it, so that the chain verifies again."""
    _tamper(session, "UPDATE audit_entries SET message = :m WHERE id = :id", m=message, id=victim)
    prev = session.get(AuditEntry, victim).prev_hash
    for row in session.scalars(select(AuditEntry).where(AuditEntry.id >= victim)
                               .order_by(AuditEntry.id)).all():
        row.prev_hash, row.hash = prev, audit.entry_hash(row, prev)
        prev = row.hash
    session.commit()


def test_a_head_written_down_shows_a_rewritten_chain_that_still_verifies(session, chain):
    written = audit.head(session)
    assert written == audit.Head(chain[-1], session.get(AuditEntry, chain[-1]).hash)
    assert audit.check_head(session, written) is None

    _rewrite_from(session, chain[2], "nothing happened")

    assert audit.verify(session).ok  # the chain alone cannot tell
    assert f"entry #{chain[-1]} has hash" in audit.check_head(session, written)


def test_a_head_whose_entry_is_gone_is_reported(session, chain):
    written = audit.head(session)
    _tamper(session, "DELETE FROM audit_entries WHERE id = :id", id=chain[-1])

    assert audit.check_head(session, written) == f"entry #{chain[-1]} is missing from the log"
    assert audit.check_head(session, audit.Head(2**40, written.hash)) is not None

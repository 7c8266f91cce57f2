"""Outbox delivery: subscribers, webhook deliveries and notifications, at least once, never lost."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.factories import make_entity, make_manager, make_realestate, make_subscription
from webapp.core.base.transactions import write_transaction
from webapp.core.events import delivery, notifications
from webapp.core.sweeps import runs as sweep_runs
from webapp.models import Notification, OutboxEvent, User, WebhookDelivery
from webapp.models.base import utcnow


def _outbox_states(session):
    session.rollback()
    return dict(session.execute(select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state))
                .all())


def _count(session, model):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_every_event_reaches_the_outbox_subscribers_and_is_marked_delivered(
        manager, session, support, clock):
    seen = []
    manager.on_delivery("builder", seen.append)
    builder = make_entity(manager, session, support, "builder", name="Acme Homes")
    clock.advance(days=31)
    manager.transition(session, support, builder.id, "inactive")

    assert delivery.deliver_pending(session, manager, clock()) == 2

    assert [(e["event"], e["entity_id"]) for e in seen] == [
        ("EntityCreated", builder.id), ("StatusChanged", builder.id)]
    assert all(len(e["idempotency_key"]) == 36 for e in seen)
    assert _outbox_states(session) == {"delivered": 2}
    assert delivery.deliver_pending(session, manager, clock()) == 0


def test_events_without_an_entity_type_go_to_subscribers_of_everything(manager, session, support,
                                                                       clock):
    everything = []
    manager.on_delivery("*", everything.append)
    make_entity(manager, session, support, "sales_rep")
    clock.advance(days=61)
    sweep_runs.run(session, manager, clock)

    delivery.deliver_pending(session, manager, clock())

    assert [e["event"] for e in everything] == ["EntityCreated", "StatusChanged", "SweepCompleted"]


def test_a_crash_between_delivering_and_marking_redelivers_and_never_loses(
        manager, session, support, clock):
    seen = []
    manager.on_delivery("*", seen.append)
    make_subscription(session, event_types=["*"])
    make_entity(manager, session, support, "builder")

    delivery.claim(session, manager, clock())  # ...and the process dies before marking
    assert delivery.deliver_pending(session, manager, clock()) == 0  # hidden while claimed

    clock.advance(seconds=61)
    assert delivery.deliver_pending(session, manager, clock()) == 1

    assert len(seen) == 1
    assert _outbox_states(session) == {"delivered": 1}
    assert _count(session, WebhookDelivery) == 1  # the second claim added no second delivery


def test_a_subscriber_that_fails_does_not_stop_the_others_or_the_delivery(manager, session,
                                                                          support, clock):
    seen = []

    def broken(_event):
        raise RuntimeError("bug in a subscriber")

    manager.on_delivery("*", broken)
    manager.on_delivery("*", seen.append)
    make_entity(manager, session, support, "ticket", data={"priority": "LOW"})

    delivery.deliver_pending(session, manager, clock())

    assert len(seen) == 1
    assert _outbox_states(session) == {"delivered": 1}


def test_a_subscriber_may_itself_change_entities(manager, session_factory, support, clock):
    with session_factory() as session:
        builder = make_entity(manager, session, support, "builder")
        rep = make_entity(manager, session, support, "sales_rep", parent_id=builder.id)

        def suspend_reps(event):
            if event["event"] == "StatusChanged" and event["new_status"] == "suspended":
                with session_factory() as other:
                    manager.transition(other, support, rep.id, "inactive", source="manual")

        manager.on_delivery("builder", suspend_reps)
        manager.transition(session, support, builder.id, "suspended")
        delivery.deliver_all(session, manager, clock)

        session.rollback()
        assert manager.get(session, rep.id).status == "inactive"


def test_webhook_deliveries_are_made_for_matching_active_subscriptions_only(
        manager, session, support, clock):
    everything = make_subscription(session, event_types=["*"])
    warnings = make_subscription(session, event_types=["EntityWarned"])
    changes = make_subscription(session, event_types=["StatusChanged"])
    make_subscription(session, event_types=["*"], is_active=False)
    builder = make_entity(manager, session, support, "builder")
    clock.advance(days=31)
    manager.transition(session, support, builder.id, "inactive")

    delivery.deliver_pending(session, manager, clock())

    made = session.execute(select(WebhookDelivery.subscription_id, func.count())
                           .group_by(WebhookDelivery.subscription_id)).all()
    assert dict(made) == {everything.id: 2, changes.id: 1}
    assert warnings.id not in dict(made)


def test_an_event_that_keeps_killing_its_deliverer_is_set_aside(manager, session, support, clock):
    make_entity(manager, session, support, "builder")
    with write_transaction(session):
        session.execute(update(OutboxEvent).values(attempts=delivery.MAX_CLAIMS))

    assert delivery.deliver_pending(session, manager, clock()) == 0
    assert _outbox_states(session) == {"dead": 1}


# ------------------------------------------------------------------------------ notifications


def test_a_change_that_sets_off_cascades_is_announced_in_the_feed(manager, session, support, clock):
    estate = make_realestate(manager, session, support, properties=3, reps=1)
    with write_transaction(session):
        session.execute(update(OutboxEvent).values(state="delivered"))  # creations are old news
    builder_name = estate.builder.name
    manager.transition(session, support, estate.builder.id, "out_of_business")

    delivery.deliver_pending(session, manager, clock())

    assert [n.message for n in notifications.feed(session)] == [
        f"Builder {builder_name!r} marked out_of_business; 4 related entities changed with it"]


def test_a_sweep_that_made_entities_inactive_adds_one_notification(manager, session, support,
                                                                   clock):
    for name in ("Ana Silva", "Omar Haddad"):
        make_entity(manager, session, support, "sales_rep", name=name)
    clock.advance(days=61)
    sweep_runs.run(session, manager, clock)

    delivery.deliver_pending(session, manager, clock())

    [note] = notifications.feed(session)
    assert note.message == ("The sweep made 2 entities inactive (2 sales reps) after their grace "
                            "period, e.g. Sales rep 'Ana Silva', Sales rep 'Omar Haddad'.")


def test_the_notification_settings_can_turn_the_feed_off(manager, session, support, clock):
    with write_transaction(session):
        manager.settings.apply(session, {"notify_on_inactivation": False,
                                         "notify_on_cascade": False}, "cora", clock())
    estate = make_realestate(manager, session, support, properties=1, reps=0)
    clock.advance(days=61)
    sweep_runs.run(session, manager, clock)
    manager.transition(session, support, estate.builder.id, "out_of_business")

    delivery.deliver_all(session, manager, clock)

    assert notifications.feed(session) == []


def test_a_redelivered_event_adds_no_second_notification(manager, session, support, clock):
    estate = make_realestate(manager, session, support, properties=1, reps=0)
    manager.transition(session, support, estate.builder.id, "out_of_business")
    delivery.claim(session, manager, clock())
    clock.advance(minutes=2)

    delivery.deliver_all(session, manager, clock)

    assert _count(session, Notification) == 1


def test_the_unread_count_starts_above_what_the_user_has_seen(manager, session, support, clock):
    user = User(username="ann", password_hash="x", role="support")
    with write_transaction(session):
        session.add(user)
    with write_transaction(session):
        session.add_all(Notification(event_type="StatusChanged", message=f"n{i}", event_id=i)
                        for i in range(1, 5))
    assert notifications.unread_count(session, 0) == 4
    assert notifications.unread_count(session, 0, cap=2) == 3  # shown as "2+"

    seen = notifications.mark_seen(session, user.id)

    session.rollback()
    assert session.get(User, user.id).notifications_seen_id == seen == 4
    assert notifications.unread_count(session, seen) == 0


# ------------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_parallel_deliverers_on_postgresql_never_take_the_same_event(pg_engine, admin):
    with Session(pg_engine) as setup:
        manager = make_manager(setup, utcnow, admin)
        for _ in range(120):
            make_entity(manager, setup, admin, "sales_rep")
    taken: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    start = threading.Barrier(len(taken))

    def deliverer(name: str) -> None:
        with Session(pg_engine) as session:
            start.wait()
            while events := delivery.claim(session, manager, utcnow(), batch=7):
                taken[name] += [e.id for e in events]
                delivery.mark_delivered(session, [e.id for e in events], utcnow())

    threads = [threading.Thread(target=deliverer, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    every = [i for ids in taken.values() for i in ids]
    assert len(every) == len(set(every)) == 120
    assert sum(1 for ids in taken.values() if ids) >= 2, "the work should have been shared"
    with Session(pg_engine) as check:
        assert check.scalar(select(func.count()).select_from(OutboxEvent)
                            .where(OutboxEvent.state == "delivered")) == 120

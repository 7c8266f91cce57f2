"""Webhooks against a real receiver on loopback: signatures, retries with backoff, dead letters."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.factories import Receiver, make_entity, make_receiver, make_subscription
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput
from webapp.core.events import delivery, webhooks
from webapp.models import WebhookDelivery

SETTINGS = {"webhook_max_attempts": 3, "webhook_backoff_seconds": 30}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = make_receiver()
    yield server
    server.close()


def _deliveries(session):
    session.rollback()
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _one_event_for(manager, session, support, clock, url):
    sub = make_subscription(session, url=url, event_types=["EntityCreated"])
    make_entity(manager, session, support, "builder", name="Acme Homes")
    delivery.deliver_pending(session, manager, clock())
    return sub


def test_the_receiver_gets_the_event_with_a_valid_signature(manager, session, support, clock,
                                                             receiver):
    sub = _one_event_for(manager, session, support, clock, receiver.url)

    assert webhooks.send_due(session, clock, SETTINGS, allow_private=True) == 1

    [(headers, body)] = receiver.requests
    timestamp = headers["X-Statekeeper-Timestamp"]
    expected = hmac.new(sub.secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    assert headers["X-Statekeeper-Signature"] == f"sha256={expected}"
    assert int(timestamp) == int(clock.now.timestamp())
    assert headers["X-Statekeeper-Event"] == "EntityCreated"
    event = json.loads(body)
    assert event["idempotency_key"] == headers["X-Statekeeper-Idempotency-Key"]
    assert event["data"]["name"] == "Acme Homes"
    [done] = _deliveries(session)
    assert (done.state, done.attempts, done.last_status_code) == ("delivered", 1, 200)


def test_failed_attempts_are_retried_with_doubling_backoff_then_delivered(
        manager, session, support, clock, receiver):
    receiver.answers = [500, 503]
    _one_event_for(manager, session, support, clock, receiver.url)

    webhooks.send_due(session, clock, SETTINGS, allow_private=True)
    [d] = _deliveries(session)
    assert (d.state, d.attempts, d.last_status_code) == ("pending", 1, 500)
    assert d.next_attempt_at == clock.now + webhooks.backoff(1, SETTINGS)

    clock.advance(seconds=29)
    assert webhooks.send_due(session, clock, SETTINGS, allow_private=True) == 0  # not yet
    clock.advance(seconds=1)
    webhooks.send_due(session, clock, SETTINGS, allow_private=True)
    clock.advance(seconds=60)  # the second wait is twice the first
    webhooks.send_due(session, clock, SETTINGS, allow_private=True)

    [d] = _deliveries(session)
    assert (d.state, d.attempts, d.last_status_code) == ("delivered", 3, 200)
    keys = {headers["X-Statekeeper-Idempotency-Key"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 3 and len(keys) == 1


def test_a_delivery_is_dead_after_the_last_attempt_and_can_be_retried(
        manager, session, support, clock, receiver):
    receiver.answers = [500, 500, 500]
    _one_event_for(manager, session, support, clock, receiver.url)
    for _ in range(3):
        webhooks.send_due(session, clock, SETTINGS, allow_private=True)
        clock.advance(minutes=5)
    [d] = _deliveries(session)
    assert (d.state, d.attempts) == ("dead", 3)
    assert webhooks.send_due(session, clock, SETTINGS, allow_private=True) == 0

    webhooks.retry(session, Actor("ada", "admin"), d.id, clock())
    webhooks.send_due(session, clock, SETTINGS, allow_private=True)

    [d] = _deliveries(session)
    assert (d.state, d.attempts) == ("delivered", 1)


def test_only_a_dead_delivery_can_be_retried(manager, session, support, clock, receiver):
    _one_event_for(manager, session, support, clock, receiver.url)
    [d] = _deliveries(session)
    with pytest.raises(InvalidInput, match="only a dead one can be retried"):
        webhooks.retry(session, Actor("ada", "admin"), d.id, clock())


def test_an_unreachable_receiver_counts_as_a_failed_attempt(manager, session, support, clock):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _one_event_for(manager, session, support, clock, f"http://127.0.0.1:{port}/hooks")

    webhooks.send_due(session, clock, SETTINGS, allow_private=True)

    [d] = _deliveries(session)
    assert (d.state, d.attempts, d.last_status_code) == ("pending", 1, None)
    assert "refused" in d.last_error.lower()


def test_redirects_are_not_followed(manager, session, support, clock, receiver):
    receiver.answers = [302]
    _one_event_for(manager, session, support, clock, receiver.url)

    webhooks.send_due(session, clock, SETTINGS, allow_private=True)

    [d] = _deliveries(session)
    assert (d.state, d.last_status_code) == ("pending", 302)
    assert len(receiver.requests) == 1


def test_a_disabled_subscription_receives_nothing(manager, session, support, clock, receiver):
    sub = _one_event_for(manager, session, support, clock, receiver.url)
    webhooks.set_active(session, Actor("ada", "admin"), sub.id, False, clock())

    assert webhooks.send_due(session, clock, SETTINGS, allow_private=True) == 0
    assert receiver.requests == []


@pytest.mark.parametrize(("url", "problem"), [
    ("", "Give the receiver's address."),
    ("ftp://example.com/hook", "Use an http:// or https:// address with a host name."),
    ("https:///no-host", "Use an http:// or https:// address with a host name."),
    ("http://example.com/a b", "A URL cannot contain spaces or control characters."),
    ("https://example.com/" + "x" * 500, "Use at most 500 characters."),
])
def test_a_webhook_url_must_be_an_http_address(session, url, problem):
    with pytest.raises(InvalidInput) as bad:
        webhooks.create_subscription(session, Actor("ada", "admin"), url, ["*"], None)
    assert bad.value.fields == {"url": problem}


def test_a_subscription_names_known_events(session):
    with pytest.raises(InvalidInput) as bad:
        webhooks.create_subscription(session, Actor("ada", "admin"), "https://example.com/h",
                                     ["Nonsense"], None)
    assert bad.value.fields["event_types"].startswith("Unknown: Nonsense.")

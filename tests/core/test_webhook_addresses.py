"""Webhooks reach public addresses only (checked when saved and again when sent), and a
failed attempt says what went wrong in words, not as a Python exception."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.factories import Receiver, make_entity, make_receiver
from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput
from webapp.core.events import delivery, sending, webhooks
from webapp.models import WebhookDelivery, utcnow

ADA = Actor("ada", "admin")
SETTINGS = {"webhook_max_attempts": 3, "webhook_backoff_seconds": 30}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = make_receiver()
    yield server
    server.close()


def _subscribe(session, url: str, allow_private: bool = False):
    return webhooks.create_subscription(session, ADA, url, ["EntityCreated"], utcnow(),
                                        allow_private=allow_private)[0]


def _one_event(manager, session, support, clock) -> None:
    make_entity(manager, session, support, "builder", name="Acme Homes")
    delivery.deliver_pending(session, manager, clock())


def _only_delivery(session) -> WebhookDelivery:
    session.rollback()
    [d] = session.scalars(select(WebhookDelivery)).all()
    return d


# ------------------------------------------------------------------ refused when saved


@pytest.mark.parametrize(("url", "kind"), [
    ("http://127.0.0.1:8080/hooks", "127.0.0.1 is a loopback address"),
    ("http://127.1.2.3/hooks", "127.1.2.3 is a loopback address"),
    ("http://[::1]/hooks", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/hooks", "::ffff:127.0.0.1 is a loopback address"),
    ("http://2130706433/hooks", "2130706433 is a loopback address"),  # 127.0.0.1 as one number
    ("http://0x7f.1/hooks", "0x7f.1 is a loopback address"),
    ("http://localhost:5000/hooks", "localhost is this machine"),
    ("http://api.localhost/hooks", "api.localhost is this machine"),
    ("http://0.0.0.0/hooks", "0.0.0.0 is the unspecified address"),
    ("http://10.1.2.3/hooks", "10.1.2.3 is a private address"),
    ("http://172.16.0.9/hooks", "172.16.0.9 is a private address"),
    ("https://192.168.1.20/hooks", "192.168.1.20 is a private address"),
    ("http://[fd00::5]/hooks", "fd00::5 is a private address"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
    ("http://[fe80::1]/hooks", "fe80::1 is a link-local address"),
    ("http://224.0.0.1/hooks", "224.0.0.1 is a multicast address"),
    ("http://240.0.0.1/hooks", "240.0.0.1 is a private address"),  # reserved (class E)
    ("http://100.64.0.1/hooks", "100.64.0.1 is not a public address"),  # carrier-grade NAT
])
def test_a_webhook_to_a_non_public_address_is_refused_when_saved(session, url, kind):
    with pytest.raises(InvalidInput) as refused:
        _subscribe(session, url)

    assert refused.value.fields == {"url": f"{kind}; a webhook may only go to a public address."}


@pytest.mark.parametrize("url", ["https://hooks.example.com/statekeeper", "http://93.184.216.34/h",
                                 "https://[2606:2800:220:1:248:1893:25c8:1946]/h"])
def test_a_public_address_or_a_host_name_is_accepted(session, url):
    assert _subscribe(session, url).url == url


def test_a_deployment_that_allows_private_addresses_may_save_one(session):
    assert _subscribe(session, "http://127.0.0.1:8080/hooks", allow_private=True).is_active


def test_a_port_out_of_range_is_refused_when_saved(session):
    with pytest.raises(InvalidInput) as refused:
        _subscribe(session, "https://hooks.example.com:99999/h")
    assert refused.value.fields == {"url": "The port must be a number from 1 to 65535."}


# ------------------------------------------------------------------ refused when sent


def test_a_host_that_resolves_to_loopback_when_sent_is_not_sent_to(
        manager, session, support, clock, receiver):
    # Saved while allowed (or while its name still pointed elsewhere: DNS rebinding); by
    # the time of sending the name resolves to this machine.
    port = receiver.server.server_address[1]
    _subscribe(session, f"http://localhost:{port}/hooks", allow_private=True)
    _one_event(manager, session, support, clock)

    webhooks.send_due(session, clock, SETTINGS)

    d = _only_delivery(session)
    assert receiver.requests == []
    assert (d.state, d.attempts, d.last_status_code) == ("pending", 1, None)
    assert d.last_error.startswith("not sent: localhost resolves to ")
    assert d.last_error.endswith("a loopback address; a webhook may only go to a public address")


def test_an_address_saved_before_the_rule_is_checked_when_sent(
        manager, session, support, clock, receiver):
    _subscribe(session, receiver.url, allow_private=True)
    _one_event(manager, session, support, clock)

    webhooks.send_due(session, clock, SETTINGS)

    assert receiver.requests == []
    assert _only_delivery(session).last_error == (
        "not sent: 127.0.0.1 is a loopback address; a webhook may only go to a public address")


def test_the_same_receiver_is_sent_to_when_the_deployment_allows_private_addresses(
        manager, session, support, clock, receiver):
    _subscribe(session, receiver.url, allow_private=True)
    _one_event(manager, session, support, clock)

    webhooks.send_due(session, clock, SETTINGS, allow_private=True)

    assert len(receiver.requests) == 1
    assert _only_delivery(session).state == "delivered"


def test_every_address_a_name_resolves_to_is_checked():
    with pytest.raises(sending.Refused, match="localhost resolves to"):
        sending.resolve("localhost", 80)
    assert ("127.0.0.1", 80) in sending.resolve("localhost", 80, allow_private=True)


# ------------------------------------------------------------------ failures in words


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unknown_host_is_said_plainly():
    status, error = sending.post("http://no-such-host.invalid/hooks", b"{}", {})

    assert (status, error) == (None, "could not resolve host no-such-host.invalid")


def test_a_closed_port_is_a_refused_connection():
    port = _free_port()

    status, error = sending.post(f"http://127.0.0.1:{port}/h", b"{}", {}, allow_private=True)

    assert (status, error) == (None, f"connection refused by 127.0.0.1 (port {port})")


def test_a_receiver_that_never_answers_times_out_after_the_limit():
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/h"

        status, error = sending.post(url, b"{}", {}, timeout=0.3, allow_private=True)

    assert (status, error) == (None, "timed out after 0.3 s")


def test_an_error_status_names_the_status_and_the_host(receiver):
    receiver.answers = [500]

    status, error = sending.post(receiver.url, b"{}", {}, allow_private=True)

    assert (status, error) == (500, "HTTP 500 Internal Server Error from 127.0.0.1")


def test_a_receiver_that_hangs_up_is_said_plainly():
    with socket.socket() as rude:
        rude.bind(("127.0.0.1", 0))
        rude.listen(1)
        hang_up = threading.Thread(target=lambda: rude.accept()[0].close(), daemon=True)
        hang_up.start()

        status, error = sending.post(f"http://127.0.0.1:{rude.getsockname()[1]}/h", b"{}", {},
                                     allow_private=True)
        hang_up.join(5)

    assert status is None
    assert error in ("127.0.0.1 closed the connection without answering",
                     "connection reset by 127.0.0.1")


def test_a_failed_delivery_keeps_the_words(manager, session, support, clock):
    _subscribe(session, "http://no-such-host.invalid/hooks")
    _one_event(manager, session, support, clock)

    webhooks.send_due(session, clock, SETTINGS)

    assert _only_delivery(session).last_error == "could not resolve host no-such-host.invalid"

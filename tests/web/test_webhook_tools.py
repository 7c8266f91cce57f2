"""The webhook pages keep receivers public, test a receiver on demand, show what was sent and
say why a delivery failed in words."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from html import unescape

import pytest
from sqlalchemy import select

from tests.factories import Receiver, load_packs, make_receiver, make_subscription
from tests.helpers import csrf_token
from tests.web.test_sweeps import HTMX, SEEDER
from webapp.core.changes.manager import StateManager
from webapp.core.events import delivery, webhooks
from webapp.extensions import db
from webapp.models import AuditEntry, WebhookDelivery, WebhookSubscription

_HEADER_ROW = re.compile(r'<th scope="row"><code>([^<]+)</code></th><td><code class="wrap">'
                         r'([^<]*)</code></td>')
_BODY = re.compile(r'<pre class="payload"><code>([^<]*)</code></pre>')


@pytest.fixture(autouse=True)
def fresh_manager(clock) -> Iterator[None]:
    StateManager.reset_instance()
    StateManager.get_instance().clock = clock
    yield
    StateManager.reset_instance()


@pytest.fixture
def sm(app) -> StateManager:
    with app.app_context():
        return load_packs(db.session)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = make_receiver()
    yield server
    server.close()


def shown_request(html: str) -> tuple[dict[str, str], bytes]:
    """The headers and body a page shows as sent."""
    headers = {unescape(k): unescape(v) for k, v in _HEADER_ROW.findall(html)}
    return headers, unescape(_BODY.search(html).group(1)).encode()


def add_webhook(browser, url: str):
    token = csrf_token(browser.get("/events/webhooks").text)
    return browser.post("/events/webhooks", data={"csrf_token": token, "url": url,
                                                  "event_types": ["*"]})


# ------------------------------------------------------------------ public receivers only


def test_the_form_refuses_a_loopback_receiver(app, sm, login_as):
    refused = add_webhook(login_as("admin"), "http://127.0.0.1:8080/hooks")

    assert refused.status_code == 400
    assert "127.0.0.1 is a loopback address; a webhook may only go to a public address." \
        in refused.text
    with app.app_context():
        assert db.session.scalars(select(WebhookSubscription)).all() == []


def test_a_deployment_that_allows_private_receivers_may_add_one(app, sm, login_as):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # STATEKEEPER_WEBHOOK_ALLOW_PRIVATE=1

    assert add_webhook(login_as("admin"), "http://127.0.0.1:8080/hooks").status_code == 201


# ------------------------------------------------------------------ send test


def _test_button(browser, sub_id: int, **headers):
    token = csrf_token(browser.get("/events/webhooks").text)
    return browser.post(f"/events/webhooks/{sub_id}/test", data={"csrf_token": token},
                        headers=headers)


def test_send_test_delivers_a_signed_test_event_and_shows_exactly_what_was_sent(
        app, sm, login_as, receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    with app.app_context():
        sub = make_subscription(db.session, url=receiver.url)
        sub_id, secret = sub.id, sub.secret
    browser = login_as("admin")
    assert "Send test" in browser.get("/events/webhooks").text

    answer = _test_button(browser, sub_id, **HTMX)

    assert answer.status_code == 200
    assert "Delivered: the receiver answered HTTP 200." in answer.text
    [(got_headers, got_body)] = receiver.requests
    assert got_headers["X-Statekeeper-Event"] == "WebhookTest"
    stamp = got_headers["X-Statekeeper-Timestamp"]
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + got_body, hashlib.sha256).hexdigest()
    assert got_headers["X-Statekeeper-Signature"] == f"sha256={mac}"
    assert json.loads(got_body)["event"] == "WebhookTest"
    assert shown_request(answer.text) == (got_headers, got_body)
    with app.app_context():
        assert "webhook.test" in db.session.scalars(select(AuditEntry.event_type)).all()


def test_send_test_to_a_refused_address_says_why_and_sends_nothing(app, sm, login_as, receiver):
    with app.app_context():  # saved while private receivers were allowed; no longer
        sub_id = make_subscription(db.session, url=receiver.url).id

    answer = _test_button(login_as("admin"), sub_id)

    assert answer.status_code == 200  # the whole page, without script
    assert ("Not delivered: not sent: 127.0.0.1 is a loopback address; a webhook may only go "
            "to a public address.") in answer.text
    assert receiver.requests == []


def test_only_admins_may_send_a_test(app, sm, login_as):
    with app.app_context():
        sub_id = make_subscription(db.session, url="https://hooks.example.com/a").id
    browser = login_as("support")
    token = csrf_token(browser.get("/events/").text)

    refused = browser.post(f"/events/webhooks/{sub_id}/test", data={"csrf_token": token})

    assert refused.status_code == 403


# ------------------------------------------------------------------ what was delivered


def _delivered(app, sm, receiver) -> int:
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    with app.app_context():
        make_subscription(db.session, url=receiver.url, event_types=["EntityCreated"])
        sm.create_entity(db.session, SEEDER, type="builder", name="Acme <Homes> & Sons")
        delivery.deliver_all(db.session, sm, sm.clock)
        webhooks.send_due(db.session, sm.clock, sm.settings.all(db.session), allow_private=True)
        return db.session.scalars(select(WebhookDelivery.id)).one()


def test_a_delivered_payload_is_shown_byte_for_byte_with_every_header(app, sm, login_as,
                                                                     receiver):
    delivered = _delivered(app, sm, receiver)
    browser = login_as("admin")
    log = browser.get("/events/deliveries")
    assert f'href="/events/deliveries/{delivered}"' in log.text

    page = browser.get(f"/events/deliveries/{delivered}")

    assert page.status_code == 200
    [(got_headers, got_body)] = receiver.requests
    assert shown_request(page.text) == (got_headers, got_body)
    envelope = json.loads(got_body)
    assert sorted(envelope) == ["created_at", "data", "event", "id", "idempotency_key"]


def test_an_undelivered_payload_is_shown_without_the_per_attempt_signature(app, sm, login_as,
                                                                          receiver):
    receiver.answers = [500]
    with app.app_context():
        make_subscription(db.session, url=receiver.url, event_types=["EntityCreated"])
        sm.create_entity(db.session, SEEDER, type="builder", name="Acme Homes")
        delivery.deliver_all(db.session, sm, sm.clock)
        webhooks.send_due(db.session, sm.clock, sm.settings.all(db.session), allow_private=True)
        pending = db.session.scalars(select(WebhookDelivery.id)).one()

    page = login_as("admin").get(f"/events/deliveries/{pending}")

    headers, body = shown_request(page.text)
    [(got_headers, got_body)] = receiver.requests
    assert body == got_body
    assert headers == {k: v for k, v in got_headers.items() if k not in (
        "X-Statekeeper-Timestamp", "X-Statekeeper-Signature")}
    assert "HTTP 500 Internal Server Error from 127.0.0.1" in page.text


def test_only_admins_see_a_delivered_payload_and_an_unknown_one_is_a_404(app, sm, login_as,
                                                                        receiver):
    delivered = _delivered(app, sm, receiver)

    assert login_as("support").get(f"/events/deliveries/{delivered}").status_code == 403
    assert login_as("admin").get(f"/events/deliveries/{delivered + 99}").status_code == 404


def test_the_delivery_log_says_why_an_attempt_failed_in_words(app, sm, login_as):
    with app.app_context():
        make_subscription(db.session, url="http://no-such-host.invalid/hooks")
        sm.create_entity(db.session, SEEDER, type="builder", name="Acme Homes")
        delivery.deliver_all(db.session, sm, sm.clock)
        webhooks.send_due(db.session, sm.clock, sm.settings.all(db.session))

    log = login_as("admin").get("/events/deliveries")

    assert "could not resolve host no-such-host.invalid" in log.text
    assert "Errno" not in log.text and "URLError" not in log.text

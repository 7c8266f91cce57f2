"""The events pages: notification feed and bell; webhooks and deliveries (admins only)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.factories import Receiver, load_packs, make_receiver, make_subscription
from tests.helpers import csrf_token
from tests.web.test_sweeps import HTMX, SEEDER
from webapp.core.changes.manager import StateManager
from webapp.core.events import delivery, webhooks
from webapp.extensions import db
from webapp.models import AuditEntry, Notification, WebhookDelivery, WebhookSubscription

_BELL_COUNT = re.compile(r'<span class="bell-count"[^>]*>([^<]+)</span>')


@pytest.fixture(autouse=True)
def fresh_manager(clock) -> Iterator[None]:
    """The process-wide StateManager, new for each test and on the test's clock."""
    StateManager.reset_instance()
    StateManager.get_instance().clock = clock
    yield
    StateManager.reset_instance()


@pytest.fixture
def sm(app) -> StateManager:
    with app.app_context():
        return load_packs(db.session)


def bell_count(html: str) -> str | None:
    match = _BELL_COUNT.search(html)
    return match.group(1) if match else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = make_receiver()
    yield server
    server.close()


def out_of_business(app, sm, name: str = "Acme Homes") -> None:
    """A builder with a property goes out of business; the outbox is delivered."""
    with app.app_context():
        builder = sm.create_entity(db.session, SEEDER, type="builder", name=name)
        community = sm.create_entity(db.session, SEEDER, type="community", name="Oak Park",
                                     parent_id=builder.id)
        sm.create_entity(db.session, SEEDER, type="property", name="1 Oak Lane",
                         parent_id=community.id)
        sm.transition(db.session, SEEDER, builder.id, "out_of_business")
        delivery.deliver_all(db.session, sm, sm.clock)


# ------------------------------------------------------------------------ notifications, bell


def test_the_feed_says_what_happened(app, sm, login_as):
    out_of_business(app, sm)

    page = login_as("auditor").get("/events/")

    assert page.status_code == 200
    assert "Builder &#39;Acme Homes&#39; marked out_of_business; 1 related entity changed with it" \
        in page.text


def test_the_bell_counts_unread_notifications_until_they_are_marked_seen(app, sm, login_as):
    browser = login_as("support")
    assert bell_count(browser.get("/").text) is None
    out_of_business(app, sm, "Acme Homes")
    out_of_business(app, sm, "Summit Builders")

    assert bell_count(browser.get("/").text) == "2"
    feed = browser.get("/events/").text
    assert feed.count('<span class="badge new">new</span>') == 2
    seen = browser.post("/events/notifications/seen",
                        data={"csrf_token": csrf_token(feed)}, follow_redirects=True)

    assert bell_count(seen.text) is None
    assert "Mark all as read" not in seen.text
    assert bell_count(login_as("support").get("/").text) == "2"  # others have not seen them


def test_the_bell_refreshes_itself_and_marks_seen_in_place(app, sm, login_as):
    browser = login_as("admin")
    out_of_business(app, sm)

    bell = browser.get("/events/bell", headers=HTMX)
    assert bell_count(bell.text) == "1" and 'hx-trigger="every 60s"' in bell.text
    cleared = browser.post("/events/notifications/seen", headers=HTMX,
                           data={"csrf_token": csrf_token(browser.get("/").text)})

    assert cleared.status_code == 200
    assert 'id="bell"' in cleared.text and bell_count(cleared.text) is None


def test_the_bell_shows_99_plus_beyond_99(app, sm, login_as):
    with app.app_context(), db.session.begin():
        db.session.add_all(Notification(event_type="StatusChanged", message=f"n{i}", event_id=i)
                           for i in range(1, 120))
    assert bell_count(login_as("auditor").get("/").text) == "99+"


# ----------------------------------------------------------------------------------- webhooks


def test_only_admins_reach_webhooks_and_deliveries(app, sm, login_as):
    support = login_as("support")
    assert support.get("/events/webhooks").status_code == 403
    assert support.get("/events/deliveries").status_code == 403
    assert "Webhooks" not in support.get("/events/").text
    assert login_as("admin").get("/events/webhooks").status_code == 200


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(app, sm, login_as):
    browser = login_as("admin")
    token = csrf_token(browser.get("/events/webhooks").text)

    made = browser.post("/events/webhooks", data={
        "csrf_token": token, "url": "https://hooks.example.com/statekeeper",
        "event_types": ["StatusChanged", "EntityWarned"]})

    assert made.status_code == 201
    with app.app_context():
        sub = db.session.scalars(select(WebhookSubscription)).one()
        assert (sub.event_types, sub.is_active) == (["EntityWarned", "StatusChanged"], True)
        assert "webhook.create" in db.session.scalars(select(AuditEntry.event_type)).all()
        secret = sub.secret
    assert secret in made.text and "only this once" in made.text
    assert secret not in browser.get("/events/webhooks").text


def test_a_bad_webhook_url_is_explained_in_the_form(app, sm, login_as):
    browser = login_as("admin")
    token = csrf_token(browser.get("/events/webhooks").text)

    refused = browser.post("/events/webhooks", data={"csrf_token": token, "url": "ftp://x.org/h",
                                                     "event_types": ["*"]})

    assert refused.status_code == 400
    assert "Use an http:// or https:// address with a host name." in refused.text
    assert 'value="ftp://x.org/h"' in refused.text


def test_an_admin_disables_and_deletes_a_webhook(app, sm, login_as):
    with app.app_context():
        sub_id = make_subscription(db.session, url="https://hooks.example.com/a").id
    browser = login_as("admin")
    token = csrf_token(browser.get("/events/webhooks").text)

    disabled = browser.post(f"/events/webhooks/{sub_id}/active",
                            data={"csrf_token": token, "active": "0"}, follow_redirects=True)
    assert "disabled" in disabled.text and "Enable" in disabled.text
    deleted = browser.post(f"/events/webhooks/{sub_id}/delete", data={"csrf_token": token},
                           follow_redirects=True)

    assert "No webhooks yet." in deleted.text


def _dead_delivery(app, sm, receiver) -> int:
    """An event whose only attempt got a 500 with one attempt allowed: dead."""
    receiver.answers = [500]
    with app.app_context():
        make_subscription(db.session, url=receiver.url)
        sm.create_entity(db.session, SEEDER, type="builder", name="Acme Homes")
        delivery.deliver_all(db.session, sm, sm.clock)
        webhooks.send_due(db.session, sm.clock, {"webhook_max_attempts": 1,
                                                  "webhook_backoff_seconds": 30},
                          allow_private=True)
        return db.session.scalars(select(WebhookDelivery.id)).one()


def _state(app, delivery_id: int) -> tuple[str, int]:
    with app.app_context():
        d = db.session.get(WebhookDelivery, delivery_id)
        return d.state, d.attempts


def test_a_dead_delivery_can_be_retried_from_the_page(app, sm, login_as, receiver):
    dead = _dead_delivery(app, sm, receiver)
    browser = login_as("admin")
    log = browser.get("/events/deliveries?state=dead")
    assert "HTTP 500" in log.text and "Retry" in log.text

    row = browser.post(f"/events/deliveries/{dead}/retry", headers=HTMX,
                       data={"csrf_token": csrf_token(log.text)})

    assert row.status_code == 200
    assert row.text.strip().startswith(f'<tr id="delivery-{dead}">')
    assert "pending" in row.text and "Retry" not in row.text
    assert _state(app, dead) == ("pending", 0)
    with app.app_context():
        webhooks.send_due(db.session, sm.clock, sm.settings.all(db.session), allow_private=True)
    assert _state(app, dead) == ("delivered", 1)
    assert len(receiver.requests) == 2


def test_without_script_a_retry_redirects_back_to_the_log(app, sm, login_as, receiver):
    dead = _dead_delivery(app, sm, receiver)
    browser = login_as("admin")
    token = csrf_token(browser.get("/events/deliveries").text)

    done = browser.post(f"/events/deliveries/{dead}/retry?state=dead",
                        data={"csrf_token": token}, follow_redirects=True)

    assert f"Delivery {dead} will be sent again shortly." in done.text
    assert "No dead deliveries." in done.text


def test_retrying_a_delivery_that_is_not_dead_is_a_clear_400(app, sm, login_as, receiver):
    dead = _dead_delivery(app, sm, receiver)
    browser = login_as("admin")
    token = csrf_token(browser.get("/events/deliveries").text)
    browser.post(f"/events/deliveries/{dead}/retry", data={"csrf_token": token})

    again = browser.post(f"/events/deliveries/{dead}/retry", data={"csrf_token": token})

    assert again.status_code == 400
    assert "only a dead one can be retried" in again.text


def test_an_unknown_delivery_state_filter_is_a_400(app, sm, login_as):
    assert login_as("admin").get("/events/deliveries?state=lost").status_code == 400

"""Webhooks: admin-managed subscriptions, signed POSTs, retries with backoff, a dead letter.

Each request's body is an envelope, compact JSON with sorted keys:
``{"created_at", "data" (the event's payload), "event", "id", "idempotency_key"}``, with the
headers ``X-Statekeeper-Event`` (event type), ``X-Statekeeper-Idempotency-Key`` (the same on
every retry: receivers drop duplicates with it), ``X-Statekeeper-Timestamp`` (Unix seconds of
the attempt) and ``X-Statekeeper-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"
with the secret>`` (docs/events.md). A 2xx answer delivers; anything else (or no answer within
``sending.TIMEOUT``) is retried after ``webhook_backoff_seconds`` doubling each time, and after
``webhook_max_attempts`` the delivery is dead until an admin retries it. Only public addresses
are called, no redirect is followed (``sending``).

A delivered delivery's ``delivered_at`` is the moment its request was signed, so the page can
show the exact request that was sent (``sent_request``): the body and every header.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from webapp.core.approvals.records import EVENTS as APPROVAL_EVENTS
from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import ID_MAX, InvalidInput, NotFound, storable_id
from webapp.core.base.events import ENTITY_CREATED, ENTITY_UPDATED, ENTITY_WARNED, STATUS_CHANGED
from webapp.core.base.transactions import write_transaction
from webapp.core.events import sending
from webapp.core.settings.scheduling import SCHEDULED_SETTING_FAILED
from webapp.core.sweeps.runs import SWEEP_COMPLETED
from webapp.core.timing.schedules import SCHEDULE_FAILED
from webapp.core.timing.timers import TIMER_FAILED
from webapp.core.workflows.sla_clocks import SLA_AT_RISK, SLA_BREACHED
from webapp.models import OutboxEvent, WebhookDelivery, WebhookSubscription

#: What a subscription may ask for ("*": everything).
EVENT_TYPES = (STATUS_CHANGED, ENTITY_CREATED, ENTITY_UPDATED, ENTITY_WARNED, SWEEP_COMPLETED,
               *APPROVAL_EVENTS, SLA_AT_RISK, SLA_BREACHED, TIMER_FAILED, SCHEDULE_FAILED,
               SCHEDULED_SETTING_FAILED)
#: What "send test" sends: signed like any event, with id 0 (it is in no outbox).
TEST_EVENT = "WebhookTest"
SEND_BATCH = 20
#: A claimed delivery is hidden this long from other senders (well over sending.TIMEOUT).
CLAIM_FOR = timedelta(seconds=60)
MAX_BACKOFF = timedelta(days=1)
URL_MAX = 500

#: What a receiver answered: (HTTP status or None, the failure in words or None on 2xx).
Answer = sending.Answer
Post = Callable[[str, bytes, dict[str, str]], Answer]


# -- subscriptions (admins) -------------------------------------------------------------------

def check_url(url: Any, allow_private: bool = False) -> str:
    """An absolute http(s) URL of a public host; InvalidInput naming the problem otherwise.

    ``allow_private`` (the deployment's STATEKEEPER_WEBHOOK_ALLOW_PRIVATE) lets loopback and
    private hosts through; a name is checked again, resolved, on every request.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("A URL is required.", {"url": "Give the receiver's address."})
    url = url.strip()
    problem = _url_problem(url) or (None if allow_private else
                                    sending.host_problem(urlsplit(url).hostname or ""))
    if problem:
        raise InvalidInput("The webhook URL is not valid.", {"url": problem})
    return url


def _url_problem(url: str) -> str | None:
    if len(url) > URL_MAX:
        return f"Use at most {URL_MAX} characters."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "A URL cannot contain spaces or control characters."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Use an http:// or https:// address with a host name."
    try:
        parts.port  # noqa: B018 - reading it is the check
    except ValueError:
        return "The port must be a number from 1 to 65535."
    return None


def check_event_types(event_types: Any) -> list[str]:
    if isinstance(event_types, str):
        event_types = [event_types]
    chosen = sorted({t for t in event_types or [] if isinstance(t, str)})
    unknown = [t for t in chosen if t != "*" and t not in EVENT_TYPES]
    if not chosen or unknown:
        raise InvalidInput("Choose the events to send.", {"event_types": (
            f"Unknown: {', '.join(unknown)}. " if unknown else "") +
            f"Pick from {', '.join(EVENT_TYPES)}, or all."})
    return ["*"] if "*" in chosen else chosen


def create_subscription(session: Session, actor: Actor, url: Any, event_types: Any,
                        now: datetime, allow_private: bool = False
                        ) -> tuple[WebhookSubscription, str]:
    """A new active subscription and its signing secret (shown to the admin once)."""
    url, types = check_url(url, allow_private), check_event_types(event_types)
    secret = secrets.token_hex(32)
    with write_transaction(session):
        sub = WebhookSubscription(url=url, secret=secret, event_types=types, is_active=True,
                                  created_at=now, created_by=actor.name)
        session.add(sub)
        session.flush()
        _audit(session, actor, "webhook.create", sub, now, after={"url": url, "event_types": types})
    return sub, secret


def set_active(session: Session, actor: Actor, sub_id: int, active: bool,
               now: datetime) -> WebhookSubscription:
    with write_transaction(session):
        sub = _subscription(session, sub_id)
        before, sub.is_active = sub.is_active, active
        _audit(session, actor, "webhook.enable" if active else "webhook.disable", sub, now,
               before={"is_active": before}, after={"is_active": active})
    return sub


def delete_subscription(session: Session, actor: Actor, sub_id: int, now: datetime) -> None:
    """Remove a subscription and its delivery log."""
    with write_transaction(session):
        sub = _subscription(session, sub_id)
        _audit(session, actor, "webhook.delete", sub, now, before={"url": sub.url})
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id))
        session.delete(sub)


def _subscription(session: Session, sub_id: int) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, sub_id) if storable_id(sub_id) else None
    if sub is None:
        raise NotFound(f"No webhook subscription with id {sub_id}.")
    return sub


def _audit(session: Session, actor: Actor, event_type: str, sub: WebhookSubscription,
           now: datetime, **change: Any) -> None:
    audit.write(session, [audit.AuditRecord(actor, event_type, "webhook", str(sub.id), **change)],
                now)


def retry(session: Session, actor: Actor, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Give a dead delivery a fresh round of attempts, starting now."""
    with write_transaction(session):
        d = session.get(WebhookDelivery, delivery_id) if storable_id(delivery_id) else None
        if d is None:
            raise NotFound(f"No webhook delivery with id {delivery_id}.")
        if d.state != "dead":
            raise InvalidInput(f"Delivery {delivery_id} is {d.state}; only a dead one can be "
                               "retried.", {"delivery": "Retry only dead deliveries."})
        d.state, d.attempts, d.next_attempt_at = "pending", 0, now
        audit.write(session, [audit.AuditRecord(
            actor, "webhook.retry", "webhook_delivery", str(d.id),
            message=f"retry of event {d.event_id} to subscription {d.subscription_id}")], now)
    return d


# -- sending -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    delivery_id: int
    attempts: int
    url: str
    secret: str
    event_id: int
    event_type: str
    idempotency_key: str
    payload: dict[str, Any]
    created_at: datetime


def send_due(session: Session, clock: Callable[[], datetime], settings: dict[str, Any],
             post: Post | None = None, batch: int = SEND_BATCH,
             allow_private: bool = False) -> int:
    """Send the deliveries that are due; record each answer. Returns how many were tried.

    ``allow_private`` is the deployment's STATEKEEPER_WEBHOOK_ALLOW_PRIVATE: without it a
    receiver whose host resolves to a non-public address is not sent to (a failed attempt).
    """
    jobs = claim(session, clock(), batch)
    send = post or partial(sending.post, allow_private=allow_private)
    results = []
    for job in jobs:
        sent_at = clock()
        body, headers = signed_request(job, sent_at)
        results.append((job, sent_at, send(job.url, body, headers)))
    if results:
        record(session, results, settings)
    return len(jobs)


def claim(session: Session, now: datetime, batch: int = SEND_BATCH) -> list[Job]:
    """Take due deliveries of active subscriptions (SKIP LOCKED on PostgreSQL)."""
    d, s, e = WebhookDelivery, WebhookSubscription, OutboxEvent
    with write_transaction(session):
        stmt = (select(d.id).join(s, s.id == d.subscription_id)
                .where(d.state == "pending", d.next_attempt_at <= now, s.is_active)
                .order_by(d.next_attempt_at, d.id).limit(batch))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=d, skip_locked=True)
        ids = list(session.scalars(stmt))
        if not ids:
            return []
        session.execute(update(d).where(d.id.in_(ids)).values(
            attempts=d.attempts + 1, next_attempt_at=now + CLAIM_FOR)
            .execution_options(synchronize_session=False))
        rows = session.execute(
            select(d.id, d.attempts, s.url, s.secret, e.id, e.event_type, e.idempotency_key,
                   e.payload, e.created_at)
            .join(s, s.id == d.subscription_id).join(e, e.id == d.event_id)
            .where(d.id.in_(ids)).order_by(d.id)).all()
    return [Job(*row) for row in rows]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def envelope(job: Job) -> bytes:
    """The body: the event in an envelope, compact JSON with sorted keys (so the same event
    always gives the same bytes, and the page can show what was sent)."""
    return json.dumps({"id": job.event_id, "event": job.event_type,
                       "idempotency_key": job.idempotency_key,
                       "created_at": job.created_at.isoformat(), "data": job.payload},
                      separators=(",", ":"), sort_keys=True, default=str).encode()


def signed_request(job: Job, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of an attempt signed at ``now``."""
    body = envelope(job)
    timestamp = str(int(now.timestamp()))
    return body, {**_headers(job), "X-Statekeeper-Timestamp": timestamp,
                  "X-Statekeeper-Signature": sign(job.secret, timestamp, body)}


def _headers(job: Job) -> dict[str, str]:
    """The headers that are the same on every attempt."""
    return {"Content-Type": "application/json", "User-Agent": "Statekeeper-Webhooks/1",
            "X-Statekeeper-Event": job.event_type,
            "X-Statekeeper-Idempotency-Key": job.idempotency_key}


def record(session: Session, results: Sequence[tuple[Job, datetime, Answer]],
           settings: dict[str, Any]) -> None:
    """Delivered on 2xx; otherwise retried later with backoff, or dead after the last attempt.

    ``results`` are (job, when its request was signed and sent, the answer)."""
    with write_transaction(session):
        for job, sent_at, (status, error) in results:
            session.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == job.delivery_id, WebhookDelivery.state == "pending")
                .values(**_outcome(job, status, error, sent_at, settings))
                .execution_options(synchronize_session=False))


def _outcome(job: Job, status: int | None, error: str | None, sent_at: datetime,
             settings: dict[str, Any]) -> dict[str, Any]:
    if status is not None and 200 <= status < 300:
        return {"state": "delivered", "delivered_at": sent_at, "last_status_code": status,
                "last_error": None}
    failed = {"last_status_code": status, "last_error": (error or f"HTTP {status}")[:500]}
    if job.attempts >= settings["webhook_max_attempts"]:
        return {**failed, "state": "dead"}
    return {**failed, "next_attempt_at": sent_at + backoff(job.attempts, settings)}


def backoff(attempts: int, settings: dict[str, Any]) -> timedelta:
    """The wait after the ``attempts``-th failure: the first delay, doubled each time."""
    seconds = settings["webhook_backoff_seconds"] * 2 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


# -- a test on demand, and what was sent -----------------------------------------------------

@dataclass(frozen=True)
class SentRequest:
    """A request as it went out: what the webhook pages show."""

    url: str
    body: bytes
    headers: dict[str, str]
    #: The answer: (HTTP status or None, the failure in words or None).
    answer: Answer = (None, None)

    @property
    def delivered(self) -> bool:
        return self.answer[0] is not None and 200 <= self.answer[0] < 300


def send_test(session: Session, actor: Actor, sub_id: int, now: datetime,
              allow_private: bool = False, post: Post | None = None) -> SentRequest:
    """Send a signed ``WebhookTest`` event to the subscription now (even a disabled one) and
    return what was sent with the answer; audited. Nothing is queued or retried."""
    sub = _subscription(session, sub_id)
    job = Job(0, 1, sub.url, sub.secret, 0, TEST_EVENT, str(uuid.uuid4()),
              {"event": TEST_EVENT, "subscription_id": sub.id, "actor": actor.name,
               "message": "A test from Statekeeper's webhooks page; nothing changed."}, now)
    body, headers = signed_request(job, now)
    session.rollback()  # no transaction held open while the receiver answers
    answer = (post or partial(sending.post, allow_private=allow_private))(job.url, body, headers)
    with write_transaction(session):
        _audit(session, actor, "webhook.test", _subscription(session, sub_id), now,
               message=f"test event to {job.url}: " + (answer[1] or f"HTTP {answer[0]}"))
    return SentRequest(job.url, body, sending.on_the_wire(job.url, body, headers), answer)


def sent_request(session: Session, delivery_id: int) -> tuple[WebhookDelivery, SentRequest]:
    """A delivery and the request it sends: the exact body and headers. The timestamp and
    signature are those of the delivering attempt; until one succeeded they are made afresh
    for each attempt, and left out here."""
    d, s, e = WebhookDelivery, WebhookSubscription, OutboxEvent
    row = session.execute(
        select(d, s.url, s.secret, e.event_type, e.idempotency_key, e.payload, e.created_at)
        .join(s, s.id == d.subscription_id).join(e, e.id == d.event_id)
        .where(d.id == delivery_id)).first() if storable_id(delivery_id) else None
    if row is None:
        raise NotFound(f"No webhook delivery with id {delivery_id}.")
    delivery, url, secret, *event = row
    job = Job(delivery.id, delivery.attempts, url, secret, delivery.event_id, *event)
    if delivery.state == "delivered" and delivery.delivered_at is not None:
        body, headers = signed_request(job, delivery.delivered_at)
    else:
        body, headers = envelope(job), _headers(job)
    return delivery, SentRequest(url, body, sending.on_the_wire(url, body, headers),
                                 (delivery.last_status_code, delivery.last_error))


# -- reading --------------------------------------------------------------------------------------

def subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def deliveries(session: Session, state: str | None = None, before_id: int | None = None,
               limit: int = 50) -> list[tuple[WebhookDelivery, str, str]]:
    """The delivery log, newest first: (delivery, subscription URL, event type)."""
    d, s, e = WebhookDelivery, WebhookSubscription, OutboxEvent
    stmt = (select(d, s.url, e.event_type).join(s, s.id == d.subscription_id)
            .join(e, e.id == d.event_id).order_by(d.id.desc()).limit(limit))
    if state:
        stmt = stmt.where(d.state == state)
    if before_id and before_id <= ID_MAX:  # every id is below a larger one
        stmt = stmt.where(d.id < before_id)
    return [tuple(row) for row in session.execute(stmt)]

"""Webhooks: admin-managed subscriptions, signed POSTs, retries with backoff, a dead letter.

Each request carries the event as JSON and these headers:
``X-Statekeeper-Event`` (event type), ``X-Statekeeper-Idempotency-Key`` (the same on every
retry: receivers drop duplicates with it), ``X-Statekeeper-Timestamp`` (Unix seconds) and
``X-Statekeeper-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>``.
A 2xx answer delivers; anything else (or no answer within ``TIMEOUT``) is retried after
``webhook_backoff_seconds`` doubling each time, and after ``webhook_max_attempts`` the delivery
is dead until an admin retries it. Sending uses the standard library (urllib): no redirects
are followed, so a receiver cannot bounce the signed body somewhere else.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.core.base.errors import ID_MAX, InvalidInput, NotFound, storable_id
from webapp.core.base.events import ENTITY_CREATED, ENTITY_UPDATED, ENTITY_WARNED, STATUS_CHANGED
from webapp.core.base.transactions import write_transaction
from webapp.core.sweeps.runs import SWEEP_COMPLETED
from webapp.models import OutboxEvent, WebhookDelivery, WebhookSubscription

#: What a subscription may ask for ("*": everything).
EVENT_TYPES = (STATUS_CHANGED, ENTITY_CREATED, ENTITY_UPDATED, ENTITY_WARNED, SWEEP_COMPLETED)
TIMEOUT = 5.0
SEND_BATCH = 20
#: A claimed delivery is hidden this long from other senders (well over TIMEOUT).
CLAIM_FOR = timedelta(seconds=60)
MAX_BACKOFF = timedelta(days=1)
URL_MAX = 500

Post = Callable[[str, bytes, dict[str, str]], tuple[int | None, str | None]]


# -- subscriptions (admins) -------------------------------------------------------------------

def check_url(url: Any) -> str:
    """An absolute http(s) URL with a host; InvalidInput naming the problem otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("A URL is required.", {"url": "Give the receiver's address."})
    url = url.strip()
    problem = None
    if len(url) > URL_MAX:
        problem = f"Use at most {URL_MAX} characters."
    elif any(ch.isspace() or ord(ch) < 32 for ch in url):
        problem = "A URL cannot contain spaces or control characters."
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problem = "Use an http:// or https:// address with a host name."
    if problem:
        raise InvalidInput("The webhook URL is not valid.", {"url": problem})
    return url


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
                        now: datetime) -> tuple[WebhookSubscription, str]:
    """A new active subscription and its signing secret (shown to the admin once)."""
    url, types = check_url(url), check_event_types(event_types)
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
             post: Post | None = None, batch: int = SEND_BATCH) -> int:
    """Send the deliveries that are due; record each answer. Returns how many were tried."""
    jobs = claim(session, clock(), batch)
    results = []
    for job in jobs:
        body, headers = signed_request(job, clock())
        results.append((job, (post or http_post)(job.url, body, headers)))
    if results:
        record(session, results, clock(), settings)
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


def signed_request(job: Job, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": job.event_id, "event": job.event_type,
                       "idempotency_key": job.idempotency_key,
                       "created_at": job.created_at.isoformat(), "data": job.payload},
                      separators=(",", ":"), sort_keys=True, default=str).encode()
    timestamp = str(int(now.timestamp()))
    return body, {
        "Content-Type": "application/json", "User-Agent": "Statekeeper-Webhooks/1",
        "X-Statekeeper-Event": job.event_type, "X-Statekeeper-Idempotency-Key": job.idempotency_key,
        "X-Statekeeper-Timestamp": timestamp, "X-Statekeeper-Signature": sign(job.secret, timestamp, body),
    }


def record(session: Session, results: Sequence[tuple[Job, tuple[int | None, str | None]]],
           now: datetime, settings: dict[str, Any]) -> None:
    """Delivered on 2xx; otherwise retried later with backoff, or dead after the last attempt."""
    with write_transaction(session):
        for job, (status, error) in results:
            session.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == job.delivery_id, WebhookDelivery.state == "pending")
                .values(**_outcome(job, status, error, now, settings))
                .execution_options(synchronize_session=False))


def _outcome(job: Job, status: int | None, error: str | None, now: datetime,
             settings: dict[str, Any]) -> dict[str, Any]:
    if status is not None and 200 <= status < 300:
        return {"state": "delivered", "delivered_at": now, "last_status_code": status,
                "last_error": None}
    failed = {"last_status_code": status, "last_error": (error or f"HTTP {status}")[:500]}
    if job.attempts >= settings["webhook_max_attempts"]:
        return {**failed, "state": "dead"}
    return {**failed, "next_attempt_at": now + backoff(job.attempts, settings)}


def backoff(attempts: int, settings: dict[str, Any]) -> timedelta:
    """The wait after the ``attempts``-th failure: the first delay, doubled each time."""
    seconds = settings["webhook_backoff_seconds"] * 2 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx then surfaces as an HTTPError: a failed attempt


_OPENER = urllib.request.build_opener(_NoRedirects)


def http_post(url: str, body: bytes, headers: dict[str, str],
              timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
    """POST and return (status code, error); never raises for network trouble."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"


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

"""Prometheus metrics for /metrics.

Two kinds: counters this process increments as things happen (HTTP requests, status changes
seen on the StateManager's bus, transition latency), and figures read from the database when
scraped (entities by type and status, bulk operations, sweep runs, the outbox), which are the
same whichever process answers. Database figures are cached for a few seconds so frequent
scrapes of a large table stay cheap.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from webapp.core.base.events import STATUS_CHANGED
from webapp.extensions import db
from webapp.logging import note_correlation
from webapp.models import BulkOperation, EntityCount, OutboxEvent, SweepRun, WebhookDelivery

log = logging.getLogger(__name__)

STATUS_CHANGES = Counter(
    "statekeeper_status_changes", "Committed status changes.", ["type", "from", "to", "source"])
TRANSITION_SECONDS = Histogram(
    "statekeeper_transition_duration_seconds",
    "Time from the start of a request to its committed status change(s), by source.",
    ["source"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
HTTP_REQUESTS = Counter(
    "statekeeper_http_requests", "HTTP requests answered.", ["endpoint", "method", "code"])
HTTP_SECONDS = Histogram(
    "statekeeper_http_request_duration_seconds", "Time to answer a request.", ["endpoint"])

#: Seconds the database figures are reused between scrapes (config METRICS_CACHE_SECONDS).
_registered = False
_register_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Count requests, follow the StateManager's changes, and serve database figures."""
    global _registered
    with _register_lock:
        if not _registered:
            REGISTRY.register(DatabaseCollector())
            _registered = True
    # The app's manager: changes made by its workers count too, before any request.
    app.extensions["state_manager"].on_commit("*", _on_event)
    # First of all hooks, so refused requests (rate limit, CSRF) are timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_count_request)


# ------------------------------------------------------------------ counted as it happens


def _on_event(event: dict[str, Any]) -> None:
    if event.get("event") != STATUS_CHANGED or event.get("old_status") == event.get("new_status"):
        return
    source = str(event.get("source") or "")
    STATUS_CHANGES.labels(str(event.get("type")), str(event.get("old_status") or ""),
                          str(event.get("new_status")), source).inc()
    if has_request_context():
        g.setdefault("changed_sources", set()).add(source)
        note_correlation(event.get("correlation_id"))


def _start_request() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    if request.endpoint == "static":
        return response
    endpoint = request.endpoint or "unmatched"  # no path labels: unknown URLs are unbounded
    HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        elapsed = time.perf_counter() - started
        HTTP_SECONDS.labels(endpoint).observe(elapsed)
        for source in g.get("changed_sources", ()):
            TRANSITION_SECONDS.labels(source).observe(elapsed)
    return response


# ------------------------------------------------------------------ read from the database


class DatabaseCollector(Collector):
    """Figures computed from the database at scrape time (cached per app for a few seconds)."""

    def collect(self) -> Iterator[Metric]:
        if not has_app_context():
            return iter(())
        cache = current_app.extensions.setdefault("statekeeper.metrics", {})
        ttl = float(current_app.config["METRICS_CACHE_SECONDS"])
        if cache.get("at") is None or time.monotonic() - cache["at"] > ttl:
            cache["families"], cache["at"] = _read_families(), time.monotonic()
        return iter(cache["families"])


def _read_families() -> list[Metric]:
    try:
        families = [*_entities(), *_bulk(), *_sweeps(), *_outbox()]
        ok = 1
    except Exception as exc:  # noqa: BLE001 - a scrape must answer even without a database
        log.warning("metrics: database figures unavailable: %s", type(exc).__name__)
        families, ok = [], 0
    finally:
        db.session.rollback()
    up = GaugeMetricFamily("statekeeper_database_metrics_up",
                           "1 when the database figures below could be read.")
    up.add_metric([], ok)
    return [up, *families]


def _entities() -> list[Metric]:
    family = GaugeMetricFamily("statekeeper_entities", "Entities by type and status.",
                               labels=["type", "status"])
    # The counts the write path keeps (core/changes/counts.py): no scan of the entities.
    rows = db.session.execute(select(EntityCount.type, EntityCount.status, EntityCount.n)
                              .where(EntityCount.n != 0))
    for type_, status, count in rows:
        family.add_metric([type_, status], count)
    return [family]


def _bulk() -> list[Metric]:
    operations = CounterMetricFamily("statekeeper_bulk_operations", "Bulk operations recorded.",
                                     labels=["operation_type", "state"])
    items = CounterMetricFamily("statekeeper_bulk_items", "Items handled by bulk operations.",
                                labels=["outcome"])
    rows = db.session.execute(select(
        BulkOperation.operation_type, BulkOperation.state, func.count(),
        func.coalesce(func.sum(BulkOperation.successful_items), 0),
        func.coalesce(func.sum(BulkOperation.failed_items), 0),
    ).group_by(BulkOperation.operation_type, BulkOperation.state)).all()
    for op_type, state, count, _, _ in rows:
        operations.add_metric([op_type, state], count)
    items.add_metric(["successful"], sum(r[3] for r in rows))
    items.add_metric(["failed"], sum(r[4] for r in rows))
    return [operations, items]


def _sweeps() -> list[Metric]:
    runs = CounterMetricFamily("statekeeper_sweep_runs", "Sweep runs recorded.",
                               labels=["outcome", "dry_run"])
    rows = db.session.execute(select(
        SweepRun.error.is_(None), SweepRun.dry_run, SweepRun.finished_at.is_not(None), func.count(),
    ).group_by(SweepRun.error.is_(None), SweepRun.dry_run, SweepRun.finished_at.is_not(None)))
    for no_error, dry_run, finished, count in rows:
        outcome = "error" if not no_error else "ok" if finished else "running"
        runs.add_metric([outcome, str(bool(dry_run)).lower()], count)
    return [runs, *_sweep_totals(), *_last_sweep()]


def _sweep_totals() -> list[Metric]:
    moved = CounterMetricFamily("statekeeper_sweep_entities", "Entities acted on by real sweeps.",
                                labels=["action"])
    totals = db.session.execute(select(
        *(func.coalesce(func.sum(column), 0)
          for column in (SweepRun.warned, SweepRun.inactivated, SweepRun.reactivated)),
    ).where(SweepRun.dry_run.is_(False))).one()
    for action, value in zip(("warned", "inactivated", "reactivated"), totals, strict=True):
        moved.add_metric([action], value)
    return [moved]


def _last_sweep() -> list[Metric]:
    last = db.session.execute(select(SweepRun.started_at, SweepRun.finished_at).where(
        SweepRun.finished_at.is_not(None), SweepRun.dry_run.is_(False), SweepRun.error.is_(None))
        .order_by(SweepRun.id.desc()).limit(1)).first()
    duration = GaugeMetricFamily("statekeeper_sweep_last_duration_seconds",
                                 "How long the last successful sweep took.")
    finished = GaugeMetricFamily("statekeeper_sweep_last_success_timestamp_seconds",
                                 "When the last successful sweep finished (Unix time).")
    if last is not None:
        duration.add_metric([], (last.finished_at - last.started_at).total_seconds())
        finished.add_metric([], last.finished_at.timestamp())
    return [duration, finished]


def _outbox() -> list[Metric]:
    """Backlog and failures: counts of pending and dead rows only (indexed by state)."""
    events = GaugeMetricFamily("statekeeper_outbox_events", "Outbox events not yet delivered.",
                               labels=["state"])
    deliveries = GaugeMetricFamily("statekeeper_webhook_deliveries",
                                   "Webhook deliveries not yet delivered.", labels=["state"])
    for family, model in ((events, OutboxEvent), (deliveries, WebhookDelivery)):
        counts = dict(db.session.execute(select(model.state, func.count()).where(
            model.state.in_(("pending", "dead"))).group_by(model.state)).all())
        for state in ("pending", "dead"):
            family.add_metric([state], counts.get(state, 0))
    retrying = GaugeMetricFamily("statekeeper_webhook_deliveries_retrying",
                                 "Pending webhook deliveries that have failed at least once.")
    retrying.add_metric([], db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                              .where(WebhookDelivery.state == "pending",
                                                     WebhookDelivery.attempts > 0)) or 0)
    return [events, deliveries, retrying]

"""Operations endpoints: liveness, readiness, Prometheus metrics."""
from __future__ import annotations

import hmac
import logging
import os

from flask import Blueprint, Response, abort, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from sqlalchemy import text

from webapp import metrics as app_metrics
from webapp.extensions import db, limiter
from webapp.permissions import PUBLIC, requires
from webapp.security import bearer_token

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)
REDIS_DOWN_WARNING = ("Redis is unreachable: rate limits are counted per process until it is "
                      "back, so each process allows the full limit.")


@bp.get("/healthz")
@requires(PUBLIC)
@limiter.exempt
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@requires(PUBLIC)
@limiter.exempt
def readyz():
    checks = {"database": _check_database(), "redis": _check_redis(), "settings": _check_settings()}
    ready = all(v in ("ok", "not configured") for v in checks.values())
    if not ready:
        log.warning("not ready: %s", ", ".join(f"{k} {v}" for k, v in checks.items()))
    limits = "redis" if checks["redis"] == "ok" else "in-process"
    body = {"status": "ready" if ready else "not ready", "checks": checks, "rate_limits": limits}
    if checks["redis"] not in ("ok", "not configured"):
        body["warnings"] = [REDIS_DOWN_WARNING]
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
@requires(PUBLIC)  # no user: the scraper's credential is the metrics token
@limiter.exempt
def metrics():
    """Entity counts by type and status are not for everyone: a scraper sends
    ``Authorization: Bearer $STATEKEEPER_METRICS_TOKEN``; with no token set there is no
    /metrics at all (404, as for any unknown page)."""
    expected = current_app.config["METRICS_TOKEN"]
    if not expected:
        abort(404)
    if not hmac.compare_digest((bearer_token() or "").encode(), expected.encode()):
        return Response("/metrics needs Authorization: Bearer <STATEKEEPER_METRICS_TOKEN>.\n",
                        401, {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    """This process's registry, or under gunicorn's several workers (PROMETHEUS_MULTIPROC_DIR
    set) every worker's counters merged, plus the database figures."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(app_metrics.DatabaseCollector())
    return registry


def _check_settings() -> str:
    """Settings unreadable means every process runs on last known values or defaults."""
    from webapp.core.changes.manager import StateManager

    store = StateManager.get_instance().settings
    store.all(db.session)
    db.session.rollback()
    return f"fallback: {store.last_error}" if store.last_error else "ok"


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reason shown
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    url = current_app.config["REDIS_URL"]
    if not url:
        return "not configured"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"

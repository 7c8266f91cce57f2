"""Operations endpoints: liveness, readiness, Prometheus metrics."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from webapp.extensions import db, limiter
from webapp.permissions import PUBLIC, requires

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@requires(PUBLIC)
@limiter.exempt
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@requires(PUBLIC)
@limiter.exempt
def readyz():
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(v in ("ok", "not configured") for v in checks.values())
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), (
        200 if ready else 503
    )


@bp.get("/metrics")
@requires(PUBLIC)
@limiter.exempt
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return "ok"
    except Exception as exc:  # any failure means "not ready", with the reason shown
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not configured"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"

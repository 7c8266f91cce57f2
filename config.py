"""Deploy-time settings read from the environment (CONTRACT.md §2).

Runtime settings that config editors change live in ``webapp/core/settings/``; this module
holds what an operator sets before the process starts, and declares every key the code reads
from ``app.config`` (tests/test_config.py checks that), so reading one is ``config["KEY"]``.
"""
from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("STATEKEEPER_INSTANCE", BASE_DIR / "instance"))


def _secret_key(instance: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept (mode 600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    from webapp.core.base import keyfiles  # here: webapp imports this module at its start

    path = instance / "secret_key"
    if not path.exists():
        keyfiles.write_once(path, secrets.token_hex(32))
    return path.read_text().strip()


def wall_clock() -> datetime:
    """The current time, timezone-aware UTC: the app's clock unless a test passes its own."""
    return datetime.now(UTC)


class Config:
    """Production defaults; what an operator may change is read from the environment."""

    INSTANCE_DIR = INSTANCE_DIR
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'statekeeper.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    #: Redis for rate limits, caches and cross-process notifications; None: in-process ones.
    REDIS_URL = os.environ.get("REDIS_URL") or None
    #: Start the sweep and event-delivery workers in this process (wsgi.py reads it).
    BACKGROUND = os.environ.get("STATEKEEPER_BACKGROUND", "0") == "1"
    #: What "now" is for the StateManager, the workers and the pages: a callable returning
    #: an aware UTC datetime (tests pass a clock they move by hand).
    CLOCK = staticmethod(wall_clock)
    #: How often the sweep worker asks whether a sweep is due (the interval itself is the
    #: runtime setting ``sweep_interval_minutes``); tests of several processes shorten it.
    SWEEP_CHECK_SECONDS = float(os.environ.get("STATEKEEPER_SWEEP_CHECK_SECONDS", "30"))
    #: Keys for sensitive fields (CONTRACT §7): 32 random bytes in URL-safe base64 each (`flask
    #: keys generate`), comma-separated, newest first.
    #: None: one key generated once into ``<instance>/data_key`` (mode 600) and kept there.
    DATA_KEY = os.environ.get("STATEKEEPER_DATA_KEY") or None
    #: Password for the ``admin`` user made on first start; None: one is generated and printed.
    ADMIN_PASSWORD = os.environ.get("STATEKEEPER_ADMIN_PASSWORD") or None
    #: A bulk operation on more entities than this runs as a background job, not in the
    #: request (the core's own default is ``webapp.core.bulk.jobs.JOB_THRESHOLD``).
    BULK_JOB_THRESHOLD = 2000
    #: Entities a background bulk job commits at a time (``bulk.jobs.JOB_CHUNK``).
    BULK_JOB_CHUNK = 1000
    #: Publishing a workflow that moves more stranded entities than this runs on a thread with
    #: a progress bar, not in the request (``blueprints/workflows/draft_pages.BACKGROUND_ABOVE``).
    PUBLISH_IN_BACKGROUND_ABOVE = 2000
    #: Seconds ``/metrics`` reuses its database figures between scrapes.
    METRICS_CACHE_SECONDS = 15.0
    #: The bearer token ``/metrics`` requires; None: ``/metrics`` answers 404 (CONTRACT §2).
    METRICS_TOKEN = os.environ.get("STATEKEEPER_METRICS_TOKEN") or None
    #: Let webhooks target loopback, private and other non-public addresses (tests, labs);
    #: otherwise such receivers are refused when saved and when each request is sent.
    WEBHOOK_ALLOW_PRIVATE = os.environ.get("STATEKEEPER_WEBHOOK_ALLOW_PRIVATE", "0") == "1"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("STATEKEEPER_SECURE_COOKIES", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_HEADERS: ClassVar[list[str]] = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024

    #: CSRF is checked in security.py, which lets Bearer-token API calls through.
    WTF_CSRF_CHECK_DEFAULT = False

    #: Extra audit-redaction key patterns, comma-separated (added to the built-in list).
    AUDIT_REDACT_KEYS = tuple(
        k for k in os.environ.get("STATEKEEPER_REDACT_KEYS", "").split(",") if k.strip())
    #: Wrong passwords in a row before an account is locked (brute-force protection).
    LOGIN_MAX_FAILURES = int(os.environ.get("STATEKEEPER_LOGIN_MAX_FAILURES", "5"))
    #: How long a locked account stays locked.
    LOGIN_LOCKOUT_SECONDS = int(os.environ.get("STATEKEEPER_LOGIN_LOCKOUT_SECONDS", "900"))
    #: Sign-in attempts per client address (Flask-Limiter syntax).
    LOGIN_RATE_LIMIT = os.environ.get("STATEKEEPER_LOGIN_RATE_LIMIT", "20 per minute")
    #: JSON API calls per token (per address without one; Flask-Limiter syntax).
    API_RATE_LIMIT = os.environ.get("STATEKEEPER_API_RATE_LIMIT", "600 per minute")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    @property
    def SECRET_KEY(self) -> str:  # a property: the key file is only made when it is needed
        return _secret_key(self.INSTANCE_DIR)

    @property
    def RATELIMIT_STORAGE_URI(self) -> str:  # Redis when REDIS_URL is set, else per process
        return self.REDIS_URL or "memory://"


class TestConfig(Config):
    """Tests pass their own database URL and instance dir; nothing runs in the background.

    Nothing here comes from the environment, so a developer's DATABASE_URL or REDIS_URL
    never leaks into a test run.
    """

    TESTING = True
    BACKGROUND = False
    SWEEP_CHECK_SECONDS = 30.0
    SECRET_KEY = "test-secret-key"  # type: ignore[assignment]
    #: A fixed key, so that apps of one test sharing a database read each other's values.
    DATA_KEY = "dGVzdC1kYXRhLWtleS0tdGVzdC1kYXRhLWtleS0tLS0="
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = None
    ADMIN_PASSWORD = None
    METRICS_TOKEN = None
    #: Off, as in production: tests that deliver to a receiver on loopback turn it on.
    WEBHOOK_ALLOW_PRIVATE = False
    LOGIN_MAX_FAILURES = 3
    LOGIN_LOCKOUT_SECONDS = 900
    LOGIN_RATE_LIMIT = "1000 per minute"
    API_RATE_LIMIT = "1000 per minute"

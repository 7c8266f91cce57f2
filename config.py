"""Deploy-time settings read from the environment (CONTRACT.md §2).

Runtime settings that config editors change live in ``webapp/core/settings.py``;
this module only holds what an operator sets before the process starts.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("STATEKEEPER_INSTANCE", BASE_DIR / "instance"))


def _secret_key(instance: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept (mode 600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    """Production-like defaults; every value can be set from the environment."""

    INSTANCE_DIR = INSTANCE_DIR
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'statekeeper.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    BACKGROUND = os.environ.get("STATEKEEPER_BACKGROUND", "0") == "1"
    ADMIN_PASSWORD = os.environ.get("STATEKEEPER_ADMIN_PASSWORD") or None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("STATEKEEPER_SECURE_COOKIES", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024

    #: Account lockout after repeated wrong passwords (CONTRACT: brute force protection).
    LOGIN_MAX_FAILURES = int(os.environ.get("STATEKEEPER_LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCKOUT_SECONDS = int(os.environ.get("STATEKEEPER_LOGIN_LOCKOUT_SECONDS", "900"))
    LOGIN_RATE_LIMIT = os.environ.get("STATEKEEPER_LOGIN_RATE_LIMIT", "20 per minute")
    API_RATE_LIMIT = os.environ.get("STATEKEEPER_API_RATE_LIMIT", "600 per minute")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    @property
    def SECRET_KEY(self) -> str:  # noqa: N802 - Flask reads this name
        return _secret_key(self.INSTANCE_DIR)

    @property
    def RATELIMIT_STORAGE_URI(self) -> str:  # noqa: N802
        return self.REDIS_URL or "memory://"


class TestConfig(Config):
    """Tests pass their own database URL and instance dir; nothing runs in the background.

    Nothing here comes from the environment, so a developer's DATABASE_URL or REDIS_URL
    never leaks into a test run.
    """

    TESTING = True
    BACKGROUND = False
    SECRET_KEY = "test-secret-key"  # type: ignore[assignment]
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = None
    ADMIN_PASSWORD = None
    LOGIN_MAX_FAILURES = 3
    LOGIN_LOCKOUT_SECONDS = 900
    LOGIN_RATE_LIMIT = "1000 per minute"
    API_RATE_LIMIT = "1000 per minute"

"""The search rate limit: searches per user per five minutes, from the runtime settings.

Sign-in (per address, blueprints/auth) and the API (per token, blueprints/api) have their own
limits. This one is a shared budget across every search box: the pages and API routes listed
in SEARCH_ENDPOINTS count against it when they are asked for a text query (``q``).
Storage is Flask-Limiter's (Redis when REDIS_URL is set, so every process shares the count;
in-process memory when Redis is down, see RATELIMIT_IN_MEMORY_FALLBACK_ENABLED).
"""
from __future__ import annotations

import importlib
import threading

from flask import Flask, request
from flask_login import current_user

from webapp.core.changes.manager import StateManager
from webapp.core.settings.store import REGISTRY
from webapp.extensions import db, limiter

SETTING = "search_rate_limit_per_5min"
#: Endpoints whose ``q`` argument is a search (blueprint name, endpoint).
SEARCH_ENDPOINTS = {"api": {"api.list_entities", "api.search_everything"},
                    "entities": {"entities.index", "entities.search"}}
_lock = threading.Lock()


def search_limit() -> str:
    """The limit in force, read from the settings (cached by the settings store)."""
    try:
        per_5min = StateManager.get_instance().settings.get(db.session, SETTING)
    except Exception:  # noqa: BLE001 - a bad read must not look like dead limiter storage
        per_5min = REGISTRY[SETTING].default
    return f"{per_5min} per 5 minutes"


def search_key() -> str:
    """One budget per signed-in user (per address for anonymous callers)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"  # not get_id(): it changes with each password reset
    return f"ip:{request.remote_addr}"


def is_not_a_search() -> bool:
    endpoints = set().union(*SEARCH_ENDPOINTS.values())
    return request.endpoint not in endpoints or not request.args.get("q", "").strip()


def init_app(app: Flask) -> None:
    """Put the shared search limit on each search blueprint. Blueprints and the limiter are
    module-level objects shared by every app of the process, and the limiter keeps blueprint
    limits by name, so each blueprint carries the mark that it is limited already."""
    with _lock:
        for name in SEARCH_ENDPOINTS:
            blueprint = importlib.import_module(f"webapp.blueprints.{name}").bp
            if getattr(blueprint, "search_limited", False):
                continue
            limiter.shared_limit(search_limit, scope="search", key_func=search_key,
                                 exempt_when=is_not_a_search, override_defaults=False)(blueprint)
            blueprint.search_limited = True  # type: ignore[attr-defined]

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
    """The limit in force, read from the settings (cached by the settings store).

    Flask-Limiter asks for it on every request to a search blueprint, before it asks
    ``is_not_a_search``; a request that is not a search is exempt whatever the limit says,
    so it gets the default without a read of the settings."""
    if is_not_a_search():
        return f"{REGISTRY[SETTING].default} per 5 minutes"
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


_SEARCHES = frozenset().union(*SEARCH_ENDPOINTS.values())


def is_not_a_search() -> bool:
    return request.endpoint not in _SEARCHES or not request.args.get("q", "").strip()


#: Blueprints with limits of their own on their routes (the API's budget per token, sign-in
#: per address): a request to them always goes through the limiter.
LIMITED_BLUEPRINTS = frozenset({"api", "auth"})


def no_limit_applies() -> bool:
    """A request no limit can apply to (outside LIMITED_BLUEPRINTS and not a search): the
    limiter lets it through without resolving the limits it would exempt it from (~0.25 ms
    a page, most of the limiter's cost on the pages)."""
    return request.blueprint not in LIMITED_BLUEPRINTS and is_not_a_search()


def init_app(app: Flask) -> None:
    """Put the shared search limit on each search blueprint. Blueprints and the limiter are
    module-level objects shared by every app of the process, and the limiter keeps blueprint
    limits by name, so each blueprint carries the mark that it is limited already."""
    with _lock:
        if not getattr(limiter, "filters_pages", False):
            limiter.request_filter(no_limit_applies)
            limiter.filters_pages = True  # type: ignore[attr-defined]
        for name in SEARCH_ENDPOINTS:
            blueprint = importlib.import_module(f"webapp.blueprints.{name}").bp
            if getattr(blueprint, "search_limited", False):
                continue
            limiter.shared_limit(search_limit, scope="search", key_func=search_key,
                                 exempt_when=is_not_a_search, override_defaults=False)(blueprint)
            blueprint.search_limited = True  # type: ignore[attr-defined]

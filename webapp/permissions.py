"""Who may do what (CONTRACT.md §4) on the web: the core's one table, one decorator, every
refusal audited."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user

from webapp.core.base.capabilities import CAPABILITIES, role_may
from webapp.core.base.words import label

F = TypeVar("F", bound=Callable[..., Any])

#: Capability that routes open to everyone (login page, health checks, static files) declare.
PUBLIC = "public"


def can(capability: str, user: Any = None) -> bool:
    """True when the user (default: the current one) holds the capability."""
    user = current_user if user is None else user
    if capability == PUBLIC:
        return True
    return bool(user and user.is_authenticated and role_may(user.role, capability))


def requires(capability: str) -> Callable[[F], F]:
    """Declare a view's capability; anonymous users go to login (401 for the API), others 403."""
    if capability != PUBLIC and capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if capability != PUBLIC and not current_user.is_authenticated:
                abort(401)
            if not can(capability):
                deny(f"{request.method} {request.path} needs {capability}")
            return view(*args, **kwargs)

        wrapped.required_capability = capability  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def deny(attempted: str) -> None:
    """Record a permission denial in the audit log, then answer 403."""
    from webapp.web_context import record_denial

    record_denial(attempted)
    role = label(current_user.role) if current_user.is_authenticated else "anonymous"
    abort(403, description=f"Your role ({role}) may not do this; the attempt was recorded.")


#: Main navigation: (label, endpoint, capability); items whose blueprint is absent are skipped.
NAVIGATION = (
    ("Dashboard", "dashboard.index", "view"),
    ("Entities", "entities.index", "view"),
    ("Bulk", "bulk.index", "operate"),
    # Those who ask and (in the packs) decide; anyone who may view can open the page.
    ("Approvals", "approvals.index", "operate"),
    ("Workflows", "workflows.index", "view"),
    ("Sweeps", "sweeps.index", "view"),
    ("Reports", "reports.index", "view"),
    ("Events", "events.index", "view"),
    ("Settings", "settings.index", "view"),
    ("Audit", "audit.index", "audit"),
    ("Users", "users.index", "manage_users"),
)


def nav_items() -> list[dict[str, str]]:
    """The navigation entries the current user may use (the same for everyone of a role:
    kept per app and role)."""
    from flask import current_app

    if not current_user.is_authenticated:
        return []  # every entry needs a capability
    by_role = current_app.extensions.setdefault("nav_items", {})
    found = by_role.get(current_user.role)
    if found is None:
        found = by_role[current_user.role] = [
            {"label": label, "endpoint": endpoint, "blueprint": endpoint.split(".")[0]}
            for label, endpoint, capability in NAVIGATION
            if endpoint in current_app.view_functions and role_may(current_user.role, capability)
        ]
    return found

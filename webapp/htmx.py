"""The only module that reads or sets HX-* headers."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, request


def is_htmx() -> bool:
    """True for requests made by htmx (partial swaps), False for full page loads.

    A history-restore request (back button after the cache was evicted) wants the whole page.
    """
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def trigger(response: Response, event: str, detail: Any = True) -> Response:
    """Ask the page to fire ``event`` after the swap (e.g. to refresh the timeline)."""
    existing = json.loads(response.headers.get("HX-Trigger", "{}") or "{}")
    existing[event] = detail
    response.headers["HX-Trigger"] = json.dumps(existing)
    return response


def redirect(response: Response, url: str) -> Response:
    """A client-side redirect that htmx follows (a 302 would be swapped into the target)."""
    response.headers["HX-Redirect"] = url
    return response

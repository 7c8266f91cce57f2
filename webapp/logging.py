"""Structured logs: one JSON object per line, carrying the request id and correlation id.

Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one),
echoed in the response header and in every log line written while the request runs, along
with the correlation id of the changes it made (or the ``X-Correlation-ID`` it was sent).
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_HEADER = "X-Correlation-ID"
#: Ids from outside are echoed into logs and headers: short, plain characters only.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: LogRecord attributes that are not extra fields given by the caller.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HANDLER_NAME = "statekeeper-json"

access_log = logging.getLogger("statekeeper.access")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON, with request context when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(request_fields())
        entry.update({k: v for k, v in vars(record).items()
                      if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def request_fields() -> dict[str, str]:
    """The ids of the request being served (nothing outside a request)."""
    if not has_request_context():
        return {}
    fields = {"request_id": g.get("request_id")}
    correlation = g.get("correlation_id") or request.headers.get(CORRELATION_HEADER)
    if correlation and _SAFE_ID.match(correlation):
        fields["correlation_id"] = correlation
    return {k: v for k, v in fields.items() if v}


def note_correlation(correlation_id: str | None) -> None:
    """Remember the correlation id of a change made by this request (for the log lines)."""
    if correlation_id and has_request_context() and not g.get("correlation_id"):
        g.correlation_id = correlation_id


def init_app(app: Flask) -> None:
    """Tag requests with ids, log one access line per request, and send logs out as JSON."""
    # First of all hooks, so requests that the rate limiter or CSRF check refuse get an id too.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)
    app.after_request(_finish_request)
    if not app.testing:
        from flask.logging import default_handler

        app.logger.removeHandler(default_handler)  # the root's JSON handler writes its lines
        install_json_handler()


def install_json_handler(stream: Any = None, level: int = logging.INFO) -> logging.Handler:
    """Put the JSON handler on the root logger once per process (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    return handler


def _assign_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    if request.endpoint != "static":
        access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "endpoint": request.endpoint, "duration_ms": _elapsed_ms()})
    return response


def _elapsed_ms() -> float | None:
    started = g.get("request_started")
    return round((time.perf_counter() - started) * 1000, 2) if started else None

"""How the app's processes serve: the garbage collector's settings (``tune_collector``, applied
by wsgi.py) and the gunicorn worker ``make run`` serves with (gunicorn.conf.py names it):
gunicorn's own threaded worker, answering the requests gunicorn refuses before the app sees
them in the contract's JSON error shape rather than gunicorn's HTML page.

gunicorn reads the request line and headers itself; one past ``limit_request_line`` (8,190
bytes at most, however it is set) or a header past ``limit_request_field_size`` never reaches
the app, whose error handlers cannot answer it. Which path was asked for is not known at that
point, so the answer is JSON, as the API's clients need; a person who pastes an address that
long sees a short readable message.
"""
from __future__ import annotations

import gc
import json
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

#: gunicorn's refusals answered here: status, reason, the contract's error code, message.
REFUSALS = {
    LimitRequestLine: (414, "URI Too Long", "uri_too_long",
                       ("The address is longer than {line:,} bytes. Send long selections in a "
                        "POST body instead.")),
    LimitRequestHeaders: (431, "Request Header Fields Too Large", "headers_too_large",
                          "The request's headers are too large."),
}


#: The collector's thresholds: a young collection after 10,000 new objects instead of 700.
#: Nearly everything a request or a bulk chunk makes is freed by reference counting; at 700
#: the collector re-walked it all for nothing (a bulk update of 10,000 entities: 11 % of its
#: CPU, bench/bulk.py), and each tenth of those passes walked the older objects too.
COLLECTOR_THRESHOLDS = (10_000, 10, 10)


def tune_collector() -> None:
    """Set the process's collector for serving, once the app is built: what exists now (modules,
    mappers, compiled templates) is kept for the process's life, so it is frozen out of every
    later collection (``gc.freeze``), and young collections run less often
    (COLLECTOR_THRESHOLDS). The benchmarks run with the same settings (bench/__init__.py)."""
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


class Worker(ThreadWorker):
    """gunicorn's gthread worker, with the contract's error shape for its own refusals."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        refusal = next((r for kind, r in REFUSALS.items() if isinstance(exc, kind)), None)
        if refusal is None:
            super().handle_error(req, client, addr, exc)
            return
        status, reason, code, message = refusal
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, error_response(
                status, reason, code, message.format(line=self.cfg.limit_request_line)))
        except OSError:
            self.log.debug("Failed to send error message.")


def error_response(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer carrying ``{"error", "message"}``; the connection closes."""
    body = json.dumps({"error": code, "message": message}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body

"""docs/events.md shows a webhook request byte for byte: it must stay what the code sends."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from webapp.core.events import sending, webhooks

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def documented_request() -> tuple[str, dict[str, str], bytes]:
    """(request line, headers, body) of the example under "Webhook requests"."""
    text = DOC.read_text()
    block = re.search(r"```\n(POST .*?)\n```", text[text.index("## Webhook requests"):], re.DOTALL)
    head, body = block.group(1).split("\n\n", 1)
    request_line, *lines = head.splitlines()
    return request_line, dict(line.split(": ", 1) for line in lines), body.encode()


def test_the_documented_request_is_what_the_code_sends_for_that_event():
    request_line, headers, body = documented_request()
    envelope = json.loads(body)
    assert sorted(envelope) == ["created_at", "data", "event", "id", "idempotency_key"]
    url = f"https://{headers['Host']}{request_line.split()[1]}"
    job = webhooks.Job(1, 1, url, "s" * 64, envelope["id"], envelope["event"],
                       envelope["idempotency_key"], envelope["data"],
                       datetime.fromisoformat(envelope["created_at"]))
    signed_at = datetime.fromtimestamp(int(headers["X-Statekeeper-Timestamp"]), UTC)

    sent_body, sent_headers = webhooks.signed_request(job, signed_at)

    assert sent_body == body
    assert sending.on_the_wire(url, sent_body, sent_headers) == headers
    assert request_line == f"POST {request_line.split()[1]} HTTP/1.1"


def test_every_header_sent_is_documented():
    text = DOC.read_text()
    _, headers, _ = documented_request()
    for name in headers:
        assert f"`{name}" in text[text.index("### Headers"):], name

"""The entity page says days and moments in words (issue 19): "(today)", never "(0 days ago)";
the as-of answer, the revert preview and the history say a moment to the minute, never raw ISO
text with microseconds."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re
from datetime import timedelta

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    HTMX,
    SEEDER,
    create,
    estate,
    fresh_state_manager,
    post,
    run,
    sm,
)

RAW_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d:\d\d\.\d{6}")


def _text(html: str) -> str:
    """What a person reads: the page without its tags (attributes keep machine times)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_last_activity_today_yesterday_and_days_ago(admin_client, create, clock):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})

    assert "(today)" in _text(admin_client.get(f"/entities/{ticket}").text)
    clock.advance(days=1, hours=2)
    assert "(yesterday)" in _text(admin_client.get(f"/entities/{ticket}").text)
    old = create("ticket", "Toner empty", data={"priority": "LOW"},
                 last_activity_at=clock() - timedelta(days=1201, hours=3))
    assert "(1,201 days ago)" in _text(admin_client.get(f"/entities/{old}").text)


def test_the_as_of_answer_says_the_moment_without_microseconds(admin_client, create, clock):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    clock.advance(hours=2)
    then = clock().replace(second=0, microsecond=123456).strftime("%Y-%m-%dT%H:%M:%S.%f")

    answer = admin_client.get(f"/entities/{ticket}/as-of?at={then}", headers=HTMX).text

    assert f"At {then[:10]} {then[11:16]} UTC it was" in _text(answer)
    assert not RAW_ISO.search(_text(answer))


def test_going_back_to_a_time_is_said_to_the_minute_in_the_preview_and_the_history(
        admin_client, estate, run, sm, clock):
    builder = estate.builder
    clock.advance(hours=1)
    then = clock().replace(second=0, microsecond=654321)
    at = then.strftime("%Y-%m-%dT%H:%M:%S.%f")
    clock.advance(hours=1)
    run(lambda s: sm.transition(s, SEEDER, builder, "suspended"))

    preview = _text(admin_client.get(f"/entities/{builder}/revert?at={at}", headers=HTMX).text)
    post(admin_client, f"/entities/{builder}/revert", {"at": at, "reason": "undo"}, htmx=False)
    timeline = _text(admin_client.get(f"/entities/{builder}/timeline", headers=HTMX).text)

    said = f"{at[:10]} {at[11:16]} UTC"
    assert f"Go back to {said}" in preview and not RAW_ISO.search(preview)
    assert f"Back to how it was at {said}." in timeline and not RAW_ISO.search(timeline)

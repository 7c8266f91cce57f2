"""SLA clocks on the pages (CONTRACT §8): the entity page's badge (countdown, paused, breached,
the goal and why), the lists' SLA column and filter; types without SLAs show none of it."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    HTMX,
    SEEDER,
    create,
    fresh_state_manager,
    run,
    sm,
)


def _badge(client, ticket: int) -> str:
    answer = client.get(f"/entities/{ticket}/sla", headers=HTMX)
    assert answer.status_code == 200
    return answer.text


def test_the_ticket_page_counts_down_pauses_and_says_when_it_breached(
        app, sm, create, run, clock, admin_client):
    ticket = create("ticket", "Boiler down", data={"priority": "CRITICAL"})
    page = admin_client.get(f"/entities/{ticket}").text
    assert "Resolution" in page and "4 h left" in page
    assert "Goal 4 h: priority is CRITICAL" in page

    clock.advance(hours=1, minutes=48)
    assert "2 h 12 min left" in _badge(admin_client, ticket)
    run(lambda s: sm.transition(s, SEEDER, ticket, "OPEN"))
    run(lambda s: sm.transition(s, SEEDER, ticket, "ONHOLD"))
    clock.advance(hours=30)
    assert "Paused, 2 h 12 min left" in _badge(admin_client, ticket)
    run(lambda s: sm.transition(s, SEEDER, ticket, "INPROGRESS"))
    clock.advance(hours=3, minutes=12)
    assert "Breached 1 h ago" in _badge(admin_client, ticket)


def test_a_type_without_slas_shows_no_badge_column_or_filter(app, sm, create, admin_client):
    builder = create("builder", "Harbour Homes")
    assert 'id="sla"' not in admin_client.get(f"/entities/{builder}").text
    listed = admin_client.get("/entities/?type=builder").text
    assert 'name="sla"' not in listed and "sla_due" not in listed


def test_the_ticket_list_has_an_sla_column_and_filters_on_it(app, sm, create, clock, admin_client):
    create("ticket", "Printer jammed", data={"priority": "LOW"})
    create("ticket", "Boiler down", data={"priority": "CRITICAL"})
    clock.advance(hours=5)

    listed = admin_client.get("/entities/?type=ticket").text
    assert 'name="sla"' in listed and "sort=sla_due" in listed
    assert "Breached 1 h ago" in listed and "2 d 19 h left" in listed
    breached = admin_client.get("/entities/?type=ticket&sla=breached").text
    assert "Boiler down" in breached and "Printer jammed" not in breached
    assert "Printer jammed" in admin_client.get("/entities/?type=ticket&sort=-sla_due").text


def test_a_wrong_sla_filter_is_a_form_error_not_a_crash(app, sm, admin_client):
    answer = admin_client.get("/entities/?type=ticket&sla=soon")

    assert answer.status_code == 400
    assert "Use breached or at_risk." in answer.text

"""Scheduled moves on the entity page (htmx and without script), refused timers on the entity
page and the dashboard's "Failed timers" card (CONTRACT §8)."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    HTMX,
    SEEDER,
    create,
    fresh_state_manager,
    post,
    run,
    sm,
)
from webapp.core.timing import schedules, timers
from webapp.models import ScheduledTransition


def _local(clock, **delta) -> str:
    return (clock() + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def test_a_schedule_is_made_and_cancelled_from_the_entity_page(login_as, create, clock, run):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    browser = login_as("support")

    made = post(browser, f"/entities/{ticket}/schedules",
                {"to": "OPEN", "at": _local(clock, hours=3), "reason": "after the call"})

    assert made.status_code == 200
    assert "Scheduled: OPEN at" in made.text
    assert 'id="schedules"' in made.text and "after the call" in made.text
    sid = run(lambda s: s.query(ScheduledTransition).one().id)
    cancelled = post(browser, f"/entities/{ticket}/schedules/{sid}/cancel")
    assert cancelled.status_code == 200 and "Cancelled the move to OPEN" in cancelled.text
    assert run(lambda s: s.get(ScheduledTransition, sid).status) == "cancelled"
    assert "Nothing scheduled." in cancelled.text and "cancelled by" in cancelled.text


def test_bad_input_comes_back_in_place_with_what_was_typed(login_as, create, clock):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})

    refused = post(login_as("support"), f"/entities/{ticket}/schedules",
                   {"to": "OPEN", "at": _local(clock, hours=-3), "reason": "keep me"})

    assert refused.status_code == 400
    assert "Choose a time in the future." in refused.text
    assert "keep me</textarea>" in refused.text
    assert '<option value="OPEN" selected>' in refused.text


def test_without_script_the_page_redirects_or_answers_itself_with_the_errors(login_as, create,
                                                                             clock):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    browser = login_as("support")

    refused = post(browser, f"/entities/{ticket}/schedules",
                   {"to": "", "at": _local(clock, hours=3), "reason": "r"}, htmx=False)
    assert refused.status_code == 400
    assert "<title>Printer jammed" in refused.text and 'id="schedule-to-errors"' in refused.text

    made = post(browser, f"/entities/{ticket}/schedules",
                {"to": "OPEN", "at": _local(clock, hours=3), "reason": "r"}, htmx=False)
    assert made.status_code == 302 and made.location.endswith(f"/entities/{ticket}#schedules")


def test_roles_that_may_not_operate_see_schedules_but_no_form(login_as, create, clock, run, sm):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    run(lambda s: schedules.create(sm, s, SEEDER, ticket, "OPEN", clock() + timedelta(hours=2),
                                   "later"))
    page = login_as("auditor").get(f"/entities/{ticket}")
    assert "later" in page.text and "Schedule the move" not in page.text
    assert post(login_as("auditor"), f"/entities/{ticket}/schedules",
                {"to": "OPEN", "at": _local(clock, hours=3), "reason": "r"}).status_code == 403


def test_a_refused_schedule_and_timer_show_on_the_page_and_the_dashboard(login_as, create,
                                                                         clock, run, sm):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    sub = create("subscription", "Acme Pro", data={
        "expires_at": (clock() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    run(lambda s: sm.transition(s, SEEDER, sub, "active"))
    run(lambda s: schedules.create(sm, s, SEEDER, ticket, "CLOSED", clock() + timedelta(hours=2),
                                   "tidy up"))
    clock.advance(hours=3)
    run(lambda s: schedules.run_due(s, sm, clock()))
    sm.register_validator("subscription", lambda e, to, ctx: "Billing must confirm first."
                          if to == "expired" else None)
    assert run(lambda s: timers.run(s, sm, clock)).refused == 1
    assert run(lambda s: len(timers.stuck(s))) == 1

    page = login_as("support").get(f"/entities/{ticket}")
    assert "cannot go from NEW to CLOSED" in page.text
    sub_page = login_as("support").get(f"/entities/{sub}")
    assert "The timer could not expire it" in sub_page.text
    assert "Billing must confirm first." in sub_page.text
    dashboard = login_as("auditor").get("/")
    assert "Failed timers" in dashboard.text
    assert f'href="/entities/{sub}"' in dashboard.text
    assert f'href="/entities/{ticket}#schedules"' in dashboard.text

"""The settings page over time: schedule a change for later, cancel it, revert with a
reason when refused, and compare two times (issue 18)."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from tests.helpers import Clock, csrf_token
from tests.web.test_settings import form_values, post_form
from webapp.core.changes.manager import StateManager
from webapp.core.settings import scheduling
from webapp.extensions import db
from webapp.models import SettingChange


def schedule(client, effective_at: str, **changes: object):
    """Fill in the form, a time beside Save, and press Schedule change."""
    token = csrf_token(client.get("/settings/").text)
    return client.post("/settings/schedule", data={
        "csrf_token": token, "effective_at": effective_at, **form_values(**changes)})


def _local(clock: Clock, **delta: float) -> str:
    return (clock() + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def _value(app: Flask, key: str):
    with app.app_context():
        return StateManager.get_instance().settings.get(db.session, key)


def test_a_change_scheduled_from_the_form_is_listed_not_applied_and_can_be_cancelled(
        app: Flask, login_as, clock: Clock) -> None:
    client = login_as("config_editor")
    answer = schedule(client, _local(clock, hours=2), builder_grace_period=120)
    assert answer.status_code == 303
    page = client.get("/settings/").text
    assert "Scheduled for" in page and "builder grace period → 120" in page
    assert 'id="scheduled-' in page
    assert _value(app, "builder_grace_period") == 90

    with app.app_context():
        [row] = scheduling.listed(db.session)
        row_id = row.id
    token = csrf_token(client.get("/settings/").text)
    client.post(f"/settings/scheduled/{row_id}/cancel", data={"csrf_token": token})
    page = client.get("/settings/").text
    assert "will not be applied" in page and "Nothing is scheduled" in page
    again = client.post(f"/settings/scheduled/{row_id}/cancel", data={"csrf_token": token},
                        follow_redirects=True)
    assert "cancelled already" in again.text


def test_a_past_time_or_no_change_gets_a_message_beside_the_time_not_an_error(
        app: Flask, login_as, clock: Clock) -> None:
    client = login_as("admin")
    past = schedule(client, _local(clock, hours=-1), builder_grace_period=120)
    nothing = schedule(client, _local(clock, hours=1))
    garbled = schedule(client, "next tuesday", builder_grace_period=120)
    empty = schedule(client, "", builder_grace_period=120)

    assert {past.status_code, nothing.status_code, garbled.status_code, empty.status_code} == {400}
    assert "Choose a time after" in past.text
    assert "Change a setting in the form first" in nothing.text
    assert "aria-invalid" in garbled.text and "Use an ISO 8601 time" in garbled.text
    assert "Choose the date and time (UTC)" in empty.text
    with app.app_context():
        assert scheduling.listed(db.session, None) == []


def test_support_staff_may_not_schedule(login_as, clock: Clock) -> None:
    client = login_as("support")
    assert schedule(client, _local(clock, hours=1), builder_grace_period=120).status_code == 403


def test_a_revert_the_rules_refuse_says_why_on_the_page(app: Flask, login_as) -> None:
    client = login_as("admin")
    post_form(client, "/settings/", builder_warning_period=80)
    post_form(client, "/settings/", builder_warning_period=30)
    post_form(client, "/settings/", builder_warning_period=30, builder_grace_period=50)
    with app.app_context():
        second = db.session.query(SettingChange).order_by(SettingChange.id).all()[1].id
    token = csrf_token(client.get("/settings/").text)
    page = client.post(f"/settings/changes/{second}/revert", data={"csrf_token": token},
                       follow_redirects=True)
    assert "Could not revert" in page.text and "cannot go back to 80" in page.text
    missing = client.post("/settings/changes/999999/revert", data={"csrf_token": token},
                          follow_redirects=True)
    assert missing.status_code == 200 and "No setting change 999999" in missing.text


def test_the_diff_page_marks_what_changed_between_two_times(app: Flask, login_as,
                                                            clock: Clock) -> None:
    client = login_as("auditor")
    start = _local(clock, minutes=-1)
    clock.advance(minutes=5)
    post_form(login_as("admin"), "/settings/", sales_rep_grace_period=75)

    page = client.get("/settings/diff", query_string={"from": start, "to": _local(clock, minutes=1)})
    assert page.status_code == 200
    assert "<strong>1 setting</strong> changed" in page.text
    assert page.text.count('class="changed"') == 1
    backwards = client.get("/settings/diff", query_string={"from": _local(clock, days=1),
                                                            "to": start})
    assert backwards.status_code == 400 and "after" in backwards.text
    assert client.get("/settings/diff?from=soon").status_code == 400


def test_a_change_that_failed_when_due_is_shown_with_why(app: Flask, login_as,
                                                         clock: Clock) -> None:
    client = login_as("config_editor")
    schedule(client, _local(clock, hours=1), builder_warning_period=80)
    post_form(client, "/settings/", builder_grace_period=70)
    clock.advance(hours=2)
    with app.app_context():
        scheduling.apply_due(db.session, StateManager.get_instance().settings, clock())

    page = client.get("/settings/").text
    assert "Not applied" in page and "must be shorter than the grace period (70 days)" in page

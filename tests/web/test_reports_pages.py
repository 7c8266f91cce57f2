"""The reports pages (CONTRACT §8): a type picker; time in state, throughput and the stuck list
as charts with the numbers in tables; CSV downloads; form errors instead of failures."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import csv
import io
import threading

import pytest
from sqlalchemy import func, select

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    SEEDER,
    create,
    fresh_state_manager,
    run,
    sm,
)
from webapp.extensions import db
from webapp.models import ReportWatermark, StatusChange
from webapp.workers.reports_tasks import reports_tick


@pytest.fixture
def story(create, run, sm, clock):
    """Three transactions: two activated after 1 and 3 hours, one pending for 30 hours (the
    third is named like a spreadsheet formula)."""
    ids = [create("transaction", name=name) for name in ("Alpha", "Beta", '=HYPERLINK("x")')]
    clock.advance(hours=1)
    run(lambda s: sm.transition(s, SEEDER, ids[0], "active"))
    clock.advance(hours=2)
    run(lambda s: sm.transition(s, SEEDER, ids[1], "active"))
    clock.advance(hours=27)
    return ids


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.text)))


def test_the_page_offers_every_type_and_the_reports_appear_for_the_one_chosen(login_as, story):
    browser = login_as("auditor")

    picker = browser.get("/reports/")
    assert picker.status_code == 200
    assert '<option value="transaction"' in picker.text and "Choose an entity type" in picker.text

    page = browser.get("/reports/?type=transaction&days=7")
    assert page.status_code == 200
    assert page.text.count('role="img"') == 2  # the p50/p90 chart and the stacked days
    assert "p50 and p90 time in each state" in page.text
    assert "entries into each state per day" in page.text
    assert 'id="time-in-state"' in page.text and 'id="throughput"' in page.text
    assert f'href="/entities/{story[2]}"' in page.text  # stuck: pending 30 h, its p90 is 3 h


@pytest.mark.parametrize(("query", "message"), [
    ("type=spaceship", "Name an entity type that has a workflow."),
    ("type=transaction&days=1000", "Send a whole number of days from 1 to 366."),
    ("type=transaction&since=2026-03-02&until=2026-03-01", "Use a day on or after since."),
])
def test_a_bad_choice_is_said_on_the_form(login_as, story, query, message):
    page = login_as("support").get(f"/reports/?{query}")

    assert page.status_code == 400
    assert message in page.text and 'role="alert"' in page.text


def test_time_in_state_downloads_as_csv(login_as, story):
    rows = _csv(login_as("auditor").get("/reports/time-in-state.csv?type=transaction"))

    assert rows[0][:3] == ["state", "entries", "stays_ended"]
    pending = next(r for r in rows if r[0] == "pending")
    assert pending[1:3] == ["3", "2"] and pending[5] == "3.0"  # longest stay: 3 hours


def test_throughput_downloads_as_csv_one_row_per_day(login_as, story):
    rows = _csv(login_as("auditor").get("/reports/throughput.csv?type=transaction&days=5"))

    assert rows[0][0] == "date" and len(rows) == 6
    assert sum(int(r[rows[0].index("pending")]) for r in rows[1:]) == 3


def test_the_stuck_list_downloads_with_formulas_made_plain_text(login_as, story):
    rows = _csv(login_as("auditor").get("/reports/stuck.csv?type=transaction"))

    assert rows[0][:3] == ["id", "name", "state"]
    assert rows[1][1:3] == ["'=HYPERLINK(\"x\")", "pending"]


def test_the_workers_tick_folds_the_new_history_into_the_roll_ups(app, story):
    with app.app_context():
        reports_tick(threading.Event())
        assert db.session.scalar(select(ReportWatermark.last_id)) == db.session.scalar(
            select(func.max(StatusChange.id)))

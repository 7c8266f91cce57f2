"""The sweeps page: history, run now after a dry-run preview, forecasts; who may do what."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import load_packs
from tests.helpers import Clock, csrf_token
from webapp.core.base import lease
from webapp.core.base.actor import Actor
from webapp.core.changes.manager import StateManager
from webapp.core.sweeps import runs as sweep_runs
from webapp.extensions import db
from webapp.models import Entity, SweepRun

SEEDER = Actor("seeder", "admin")
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fresh_manager(clock: Clock) -> Iterator[None]:
    """The process-wide StateManager, new for each test and on the test's clock."""
    StateManager.reset_instance()
    StateManager.get_instance().clock = clock
    yield
    StateManager.reset_instance()


@pytest.fixture
def sm(app: Flask) -> StateManager:
    with app.app_context():
        return load_packs(db.session)


def quiet_reps(app: Flask, sm: StateManager, clock: Clock, *names: str, days: int = 61) -> list[int]:
    """Sales reps whose last activity was ``days`` ago (grace period 60, warning 45)."""
    with app.app_context():
        return [sm.create_entity(db.session, SEEDER, type="sales_rep", name=name,
                                 last_activity_at=clock() - timedelta(days=days)).id
                for name in names]


def statuses(app: Flask, ids: list[int]) -> list[str]:
    with app.app_context():
        return [db.session.get(Entity, i).status for i in ids]


def runs(app: Flask) -> list[SweepRun]:
    with app.app_context():
        return list(db.session.scalars(select(SweepRun).order_by(SweepRun.id)))


def test_everyone_sees_the_runs_with_their_counts(app, sm, clock, login_as):
    quiet_reps(app, sm, clock, "Ana Silva", "Omar Haddad")
    with app.app_context():
        sweep_runs.run(db.session, sm, clock)

    page = login_as("auditor").get("/sweeps/")

    assert page.status_code == 200
    assert "Runs" in page.text and "#1" in page.text
    assert '<td class="num">2</td>' in page.text  # made inactive
    assert "Admins and support staff can run one by hand" in page.text  # auditors only preview
    assert "Sales rep" in page.text and "60 days" in page.text  # the grace periods in force


def test_run_now_starts_with_a_dry_run_preview_that_changes_nothing(app, sm, clock, login_as):
    ids = quiet_reps(app, sm, clock, "Ana Silva")
    browser = login_as("support")

    preview = browser.get("/sweeps/preview", headers=HTMX)

    assert preview.status_code == 200
    assert "<strong>1</strong> made inactive" in preview.text
    assert "Ana Silva" in preview.text
    assert "Run the sweep now" in preview.text
    assert statuses(app, ids) == ["active"]
    assert runs(app) == []


def test_confirming_the_preview_runs_the_sweep_and_reports_it(app, sm, clock, login_as):
    ids = quiet_reps(app, sm, clock, "Ana Silva", "Omar Haddad")
    browser = login_as("support")
    form = browser.get("/sweeps/preview").text

    done = browser.post("/sweeps/run", data={"csrf_token": csrf_token(form)}, follow_redirects=True)

    assert "Sweep finished: 0 warned, 2 made inactive, 0 reactivated." in done.text
    assert statuses(app, ids) == ["inactive", "inactive"]
    [run] = runs(app)
    assert run.triggered_by.startswith("support-") and run.inactivated == 2


def test_an_htmx_run_answers_with_a_redirect_to_the_history(app, sm, clock, login_as):
    browser = login_as("admin")
    token = csrf_token(browser.get("/sweeps/preview").text)

    done = browser.post("/sweeps/run", data={"csrf_token": token}, headers=HTMX)

    assert done.status_code == 204
    assert done.headers["HX-Redirect"] == "/sweeps/"


def test_a_run_is_refused_while_another_process_is_sweeping(app, sm, clock, login_as):
    with app.app_context():
        lease.acquire(db.session, sweep_runs.LEASE, "worker@elsewhere:7", clock(),
                      timedelta(minutes=2))
    browser = login_as("admin")
    token = csrf_token(browser.get("/sweeps/preview").text)

    done = browser.post("/sweeps/run", data={"csrf_token": token}, follow_redirects=True)

    assert "A sweep is already running (worker@elsewhere:7" in done.text
    assert "Sweeping" in done.text
    assert runs(app) == []


def test_a_config_editor_may_preview_a_sweep_but_not_run_one(app, sm, login_as):
    browser = login_as("config_editor")
    token = csrf_token(browser.get("/events/").text)

    preview = browser.get("/sweeps/preview")
    assert preview.status_code == 200 and "Run the sweep now" not in preview.text
    assert browser.post("/sweeps/run", data={"csrf_token": token}).status_code == 403
    assert runs(app) == []


def test_the_forecast_shows_what_will_be_due_in_7_and_30_days(app, sm, clock, login_as):
    quiet_reps(app, sm, clock, "Ana Silva", days=50)
    browser = login_as("auditor")

    week = browser.get("/sweeps/forecast?days=7", headers=HTMX)
    month = browser.get("/sweeps/forecast?days=30", headers=HTMX)

    assert "In 7 days" in week.text and "<strong>0</strong> made inactive" in week.text
    assert "<strong>1</strong> warned" in week.text
    assert "In 30 days" in month.text and "<strong>1</strong> made inactive" in month.text
    assert "Ana Silva" in month.text
    assert runs(app) == []


def test_the_page_loads_both_forecasts(app, sm, login_as):
    page = login_as("auditor").get("/sweeps/").text
    assert 'hx-get="/sweeps/forecast?days=7"' in page
    assert 'hx-get="/sweeps/forecast?days=30"' in page


@pytest.mark.parametrize("days", ["0", "366", "soon"])
def test_a_forecast_too_far_or_not_a_number_is_a_clear_400(app, sm, login_as, days):
    answer = login_as("auditor").get(f"/sweeps/forecast?days={days}")
    assert answer.status_code == 400


def test_refusals_show_on_the_preview_with_the_reason(app, sm, clock, login_as):
    with app.app_context():
        sm.create_entity(db.session, SEEDER, type="builder", name="Young Homes",
                         last_activity_at=clock() - timedelta(days=120))

    preview = login_as("admin").get("/sweeps/preview", headers=HTMX)

    assert "refused by rules" in preview.text
    assert "Builder &#39;Young Homes&#39; is 0 days old" in preview.text


def test_older_runs_are_a_page_away(app, sm, clock, login_as):
    with app.app_context():
        for _ in range(22):
            sweep_runs.run(db.session, sm, clock)
    browser = login_as("auditor")

    first = browser.get("/sweeps/")
    older = browser.get("/sweeps/?before=3", headers=HTMX)

    assert "#22" in first.text and "#2<" not in first.text and "Older" in first.text
    assert "#2<" in older.text and "#1<" in older.text and "#3<" not in older.text

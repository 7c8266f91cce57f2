"""The entity list and page as a browser shows them (issue 19, "The browser"): failed requests
explained, long names that wrap, a rename that renames the page, activity notes in the history.

What the script does with these is checked in Chromium (tests/browser/test_entity_page_issue19_browser.py);
here, what the server gives it to work with.
"""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    HTMX,
    SEEDER,
    create,
    fresh_state_manager,
    post,
    run,
    sm,
)
from webapp.blueprints.entities import pages
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db

#: A type that declares no fields: its name and data are edited in one small form.
MEMO = {"pack": "notes", "types": {"memo": {
    "label": "Memo", "initial": "open",
    "states": {"open": {"label": "Open"},
               "filed": {"label": "Filed", "category": "closed", "terminal": True}},
    "transitions": [{"name": "file", "from": ["open"], "to": "filed"}]}}}
ROOT = Path(__file__).resolve().parents[2]
LONG = "Supercalifragilistic" * 9  # 180 characters, no space to wrap at


def _search_limit(app, clock, limit: int) -> None:
    with app.app_context():
        store = StateManager.get_instance().settings
        store.invalidate()
        with write_transaction(db.session):
            store.apply(db.session, {"search_rate_limit_per_5min": limit}, "test", clock())


def test_a_live_search_past_the_limit_answers_429_saying_when_to_retry(app, admin_client, clock,
                                                                      create):
    create("ticket", "Printer jammed", data={"priority": "LOW"})
    _search_limit(app, clock, 2)

    answers = [admin_client.get("/entities/?type=ticket&q=printer", headers=HTMX)
               for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 300


def test_the_page_script_explains_every_failed_htmx_request_in_place():
    script = (ROOT / "static/js/app.js").read_text()

    assert "htmx:responseError" in script and "htmx:sendError" in script
    assert "Retry-After" in script


def test_a_long_name_is_shown_whole_in_the_list_and_on_hover_on_its_page(admin_client, create):
    ticket = create("ticket", LONG, data={"priority": "LOW"})

    listing = admin_client.get("/entities/?type=ticket").text
    page = admin_client.get(f"/entities/{ticket}").text

    assert f'<td class="name"><a href="/entities/{ticket}">{LONG}</a></td>' in listing  # wraps
    assert f'<h1 title="{LONG}">{LONG}</h1>' in page
    assert re.search(rf'<span aria-current="page" title="{LONG}"[^>]*>{LONG}</span>', page)


def test_the_stylesheet_wraps_names_without_spaces():
    css = (ROOT / "static/css/app.css").read_text()

    assert re.search(r"\.entity-table td\.name[^{]*\{[^}]*overflow-wrap: anywhere", css)
    assert re.search(r"\.breadcrumbs[^{]*\{[^}]*overflow-wrap: anywhere", css)


def test_a_rename_answers_with_the_new_name_for_the_breadcrumb_and_title(admin_client, app, sm,
                                                                         create):
    with app.app_context(), write_transaction(db.session):
        packs.import_document(db.session, sm.workflows, MEMO, SEEDER, sm.clock())
    note = create("memo", "Printer jammed", data={})
    page = admin_client.get(f"/entities/{note}").text

    answer = post(admin_client, f"/entities/{note}/edit",
                  {"version": "1", "name": "Printer fixed", "data_json": "{}"})

    assert answer.status_code == 200, answer.text
    assert 'data-page-name="Printer fixed"' in answer.text
    assert "data-page-name-target" in page  # the breadcrumb the script renames


def test_an_activity_note_shows_in_the_timeline_between_the_changes_around_it(
        admin_client, create, run, sm, clock):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    clock.advance(minutes=1)
    run(lambda s: sm.record_activity(s, SEEDER, ticket, "Called the vendor"))
    clock.advance(minutes=1)
    run(lambda s: sm.transition(s, SEEDER, ticket, "OPEN"))

    timeline = admin_client.get(f"/entities/{ticket}/timeline", headers=HTMX).text

    assert "Activity noted" in timeline and "“Called the vendor”" in timeline
    opened, noted, created = (timeline.index(t) for t in (">Open</span>", "Called the vendor",
                                                           "created as"))
    assert opened < noted < created  # newest first, by time


def test_each_activity_note_shows_on_exactly_one_page_of_the_timeline(
        admin_client, create, run, sm, clock, monkeypatch):
    monkeypatch.setattr(pages, "TIMELINE_PAGE", 2)
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    for step, to in enumerate(("OPEN", "INPROGRESS", "ONHOLD")):
        clock.advance(minutes=1)
        run(lambda s, step=step: sm.record_activity(s, SEEDER, ticket, f"note {step}"))
        clock.advance(minutes=1)
        run(lambda s, to=to: sm.transition(s, SEEDER, ticket, to))

    first = admin_client.get(f"/entities/{ticket}").text
    more = re.search(r'hx-get="(/entities/\d+/timeline\?before=\d+)"', first).group(1)
    rest = admin_client.get(more, headers=HTMX).text

    assert re.findall(r"note \d", first) == ["note 2"]
    assert re.findall(r"note \d", rest) == ["note 1", "note 0"]


def test_an_activity_that_reactivated_shows_its_note_once(admin_client, create, run, sm):
    prop = create("property", "12 Meadow Lane")
    run(lambda s: sm.transition(s, SEEDER, prop, "off_market"))
    run(lambda s: sm.record_activity(s, SEEDER, prop, "Buyer called"))

    timeline = admin_client.get(f"/entities/{prop}/timeline", headers=HTMX).text

    assert timeline.count("Buyer called") == 1


@pytest.mark.parametrize("note", ["<script>alert(1)</script>"])
def test_an_activity_note_is_escaped_in_the_timeline(admin_client, create, run, sm, note):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    run(lambda s: sm.record_activity(s, SEEDER, ticket, note))

    timeline = admin_client.get(f"/entities/{ticket}/timeline", headers=HTMX).text

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in timeline and note not in timeline

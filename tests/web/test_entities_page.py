"""An entity's page: fields, moves with reasons, transitions, conflicts, edits, activity, history."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tests.helpers import csrf_token
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
from webapp.blueprints.entities import pages
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import Entity, StatusChange


def entity(run, entity_id: int) -> Entity:
    return run(lambda s: s.get(Entity, entity_id))


def history(run, entity_id: int) -> list[StatusChange]:
    return run(lambda s: s.query(StatusChange).filter_by(entity_id=entity_id)
               .order_by(StatusChange.id).all())


def test_the_page_shows_fields_data_parent_and_children(admin_client, estate, run):
    prop = admin_client.get(f"/entities/{estate.properties[0]}").text
    community = admin_client.get(f"/entities/{estate.community}").text

    assert f'href="/entities/{estate.community}"' in prop
    assert "Parent" in prop and "(community)" in prop
    assert "Property <span class=\"muted\">· 3</span>" in community
    for pid in estate.properties:
        assert f'href="/entities/{pid}"' in community


def test_children_beyond_the_first_few_link_to_the_filtered_list(admin_client, estate, create,
                                                                monkeypatch):
    monkeypatch.setattr(pages, "CHILDREN_SHOWN", 2)

    page = admin_client.get(f"/entities/{estate.community}").text

    assert f'href="/entities/?type=property&amp;parent_id={estate.community}"' in page
    assert "See all 3 in the list" in page


def test_allowed_moves_are_buttons_and_blocked_ones_say_why(admin_client, estate):
    page = admin_client.get(f"/entities/{estate.builder}").text

    assert re.search(r'<button type="submit" name="to" value="suspended">Suspend', page)
    blocked = re.search(r'<button type="button" disabled aria-describedby="why-deactivate">.*?'
                        r'<ul class="reasons" id="why-deactivate"><li>([^<]+)</li>', page, re.DOTALL)
    assert blocked
    assert "is 0 days old; it must be at least 30 days old to deactivate." in blocked.group(1)


def test_a_transition_swaps_the_panel_and_asks_the_timeline_to_refresh(login_as, estate, run):
    support = login_as("support")

    answer = post(support, f"/entities/{estate.builder}/transition", {"to": "suspended", "version": "1"})

    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="actions"')
    assert "Moved to suspended." in answer.text
    assert json.loads(answer.headers["HX-Trigger"]) == {"details-changed": True,
                                                         "timeline-changed": True}
    last = history(run, estate.builder)[-1]
    assert (last.new_status, last.source, last.actor.startswith("support")) == ("suspended", "manual", True)


def test_a_move_that_needs_a_comment_says_so_at_the_comment_box(admin_client, create, run):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})

    answer = post(admin_client, f"/entities/{ticket}/transition", {"to": "CANCELLED", "version": "1"})

    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    assert "A comment is required to cancel. Say why" in answer.text
    assert entity(run, ticket).status == "NEW"
    done = post(admin_client, f"/entities/{ticket}/transition",
                {"to": "CANCELLED", "version": "1", "comment": "duplicate of #12"})
    assert done.status_code == 200
    assert history(run, ticket)[-1].reason == "duplicate of #12"


def test_a_rule_refusal_is_shown_in_the_panel(admin_client, estate, run):
    answer = post(admin_client, f"/entities/{estate.builder}/transition",
                  {"to": "inactive", "version": "1", "comment": "closing down"})

    assert answer.status_code == 422
    assert "Not changed to inactive:" in answer.text
    assert "must be at least 30 days old to deactivate" in answer.text
    assert "closing down</textarea>" in answer.text


def test_a_stale_version_shows_the_conflict_with_current_values_and_allows_a_retry(
        admin_client, estate, run, sm):
    run(lambda s: sm.transition(s, SEEDER, estate.builder, "suspended"))

    answer = post(admin_client, f"/entities/{estate.builder}/transition",
                  {"to": "active", "version": "1", "comment": "gone"})

    assert answer.status_code == 409
    assert "Not changed: someone else changed it first" in answer.text
    assert "You were looking at version 1; it is at version 2 now" in answer.text
    assert '<input type="hidden" name="version" value="2">' in answer.text
    assert "gone</textarea>" in answer.text
    assert set(json.loads(answer.headers["HX-Trigger"])) == {"details-changed", "timeline-changed"}
    retry = post(admin_client, f"/entities/{estate.builder}/transition",
                 {"to": "active", "version": "2", "comment": "gone"})
    assert retry.status_code == 200
    assert entity(run, estate.builder).status == "active"


def test_without_script_a_transition_redirects_with_a_message(admin_client, estate):
    answer = post(admin_client, f"/entities/{estate.builder}/transition",
                  {"to": "suspended", "version": "1"}, htmx=False)

    assert answer.status_code == 302
    assert "Moved to suspended." in admin_client.get(answer.headers["Location"]).text


def test_recording_activity_reactivates_an_entity_the_sweep_took_off_market(
        admin_client, estate, run, sm):
    pid = estate.properties[0]
    run(lambda s: sm.transition(s, SEEDER, pid, "off_market"))

    answer = post(admin_client, f"/entities/{pid}/activity", {"note": "buyer called"})

    assert answer.status_code == 200
    assert "Activity recorded. It was off_market, so it is available again." in answer.text
    assert entity(run, pid).status == "available"
    assert "details-changed" in json.loads(answer.headers["HX-Trigger"])


def _edit(client, entity_id: int, version: int, name: str, data: str):
    return post(client, f"/entities/{entity_id}/edit",
                {"version": str(version), "name": name, "data_json": data})


#: A type that declares no fields: its data stays free-form JSON, edited in a textarea.
MEMO = {"pack": "notes", "types": {"memo": {
    "label": "Memo", "initial": "open",
    "states": {"open": {"label": "Open"},
               "filed": {"label": "Filed", "category": "closed", "terminal": True}},
    "transitions": [{"name": "file", "from": ["open"], "to": "filed"}]}}}


@pytest.fixture
def memo(app, sm, create) -> Callable[..., int]:
    """``memo(name, data)``: a new entity of a type without declared fields."""
    with app.app_context(), write_transaction(db.session):
        packs.import_document(db.session, sm.workflows, MEMO, SEEDER, sm.clock())
    return lambda name, data: create("memo", name, data=data)


def test_editing_merges_the_data_and_the_timeline_shows_before_and_after(admin_client, memo, run):
    note = memo("Printer jammed", {"priority": "LOW", "floor": 3})

    answer = _edit(admin_client, note, 1, "Printer jammed again", '{"priority": "HIGH", "floor": null}')

    assert answer.status_code == 200
    assert "Saved." in answer.text
    assert set(json.loads(answer.headers["HX-Trigger"])) == {"actions-changed", "timeline-changed"}
    assert (entity(run, note).name, entity(run, note).data) == ("Printer jammed again",
                                                               {"priority": "HIGH"})
    timeline = admin_client.get(f"/entities/{note}/timeline", headers=HTMX).text
    assert 'Renamed from “Printer jammed” to “Printer jammed again”.' in timeline
    assert re.search(r'<th scope="row">floor</th>\s*<td class="before">3</td>\s*'
                     r'<td class="after"><span class="muted">removed</span>', timeline)
    assert re.search(r'<th scope="row">priority</th>\s*<td class="before">&#34;LOW&#34;</td>', timeline)


@pytest.mark.parametrize("text, message", [
    ('{"priority": ', "This is not valid JSON"),
    ('["a list"]', "Give a JSON object"),
])
def test_bad_data_is_a_form_error_not_a_500(admin_client, memo, run, text, message):
    note = memo("Printer jammed", {"priority": "LOW"})

    answer = _edit(admin_client, note, 1, "Printer jammed", text)

    assert answer.status_code == 400
    assert message in answer.text
    assert "Edit name and data" in answer.text and "open" in answer.text
    assert entity(run, note).data == {"priority": "LOW"}


def test_an_edit_of_a_stale_version_keeps_the_text_and_retries_on_the_current_one(
        admin_client, memo, run, sm):
    note = memo("Printer jammed", {"priority": "LOW"})
    run(lambda s: sm.update_entity(s, SEEDER, note, version=1, data={"priority": "MEDIUM"}))

    answer = _edit(admin_client, note, 1, "Printer jammed", '{"priority": "HIGH"}')

    assert answer.status_code == 409
    assert "Not saved: someone changed this memo since you opened it" in answer.text
    assert "MEDIUM" in answer.text  # the current value is on show
    assert "&#34;priority&#34;: &#34;HIGH&#34;" in answer.text  # and their text is kept
    assert re.search(r'name="version" type="hidden" value="2"', answer.text)


def test_the_timeline_is_newest_first_and_loads_more_below(admin_client, create, run, sm,
                                                          monkeypatch):
    monkeypatch.setattr(pages, "TIMELINE_PAGE", 2)
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    for to in ("OPEN", "INPROGRESS", "ONHOLD"):
        run(lambda s, to=to: sm.transition(s, SEEDER, ticket, to))

    first = admin_client.get(f"/entities/{ticket}").text
    more = re.search(r'hx-get="(/entities/\d+/timeline\?before=\d+)"', first).group(1)
    rest = admin_client.get(more, headers=HTMX).text

    assert first.index(">On hold</span>") < first.index(">In progress</span>")
    assert '<section id="timeline"' not in rest
    assert rest.count('class="change"') == 2 and "created as" in rest
    assert "load-more" not in rest


def test_the_as_of_picker_shows_the_state_at_that_moment(admin_client, create, run, sm, clock):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})
    clock.advance(hours=2)
    then = clock().strftime("%Y-%m-%dT%H:%M")
    clock.advance(hours=2)
    run(lambda s: sm.transition(s, SEEDER, ticket, "OPEN"))

    answer = admin_client.get(f"/entities/{ticket}/as-of?at={then}", headers=HTMX)

    assert answer.status_code == 200
    assert re.search(r'it was <span class="status">NEW</span>', answer.text)
    assert f"/entities/{ticket}/revert?at={then}" in answer.text


@pytest.mark.parametrize("at, message", [("", "Choose a date and time"),
                                         ("yesterday", "Use a date and time like"),
                                         ("2001-01-01T00:00", "did not exist yet")])
def test_a_bad_as_of_time_is_explained(admin_client, create, at, message):
    ticket = create("ticket", "Printer jammed", data={"priority": "LOW"})

    answer = admin_client.get(f"/entities/{ticket}/as-of?at={at}", headers=HTMX)

    assert answer.status_code == 400
    assert message in answer.text


def test_roles_that_may_only_look_see_reasons_but_no_controls(login_as, estate):
    page = login_as("auditor").get(f"/entities/{estate.builder}").text

    assert "transition-form" not in page and "Record activity" not in page
    assert "Edit name and data" not in page and "Revert…" not in page
    assert "must be at least 30 days old to deactivate" in page
    assert "may look but not change statuses" in page


@pytest.mark.parametrize("role", ["auditor", "config_editor"])
@pytest.mark.parametrize("action, data", [
    ("transition", {"to": "suspended", "version": "1"}),
    ("activity", {}),
    ("edit", {"version": "1", "name": "x", "data_json": "{}"}),
    ("revert", {"change_id": "1", "reason": "oops"}),
])
def test_posting_without_the_right_is_refused(login_as, estate, run, role, action, data):
    answer = post(login_as(role), f"/entities/{estate.builder}/{action}", data)

    assert answer.status_code == 403
    assert entity(run, estate.builder).version == 1


@pytest.mark.parametrize("action", ["transition", "activity", "edit", "revert"])
def test_a_post_without_the_csrf_token_is_refused(admin_client, estate, run, action):
    answer = admin_client.post(f"/entities/{estate.builder}/{action}",
                               data={"to": "suspended", "version": "1"}, headers=HTMX)

    assert answer.status_code == 400
    assert "The form expired" in answer.text
    assert entity(run, estate.builder).status == "active"


def test_user_text_is_escaped_everywhere_on_the_page(admin_client, create):
    eid = create("ticket", "<script>alert(1)</script>",
                 data={"priority": "LOW", "description": "<b>bold</b>"})

    page = admin_client.get(f"/entities/{eid}").text

    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_unknown_entity_is_not_found(admin_client, sm):
    assert admin_client.get("/entities/999999").status_code == 404


def test_every_panel_is_served_alone_for_htmx(admin_client, estate):
    for panel, root in (("details", "details"), ("actions", "actions"), ("timeline", "timeline")):
        answer = admin_client.get(f"/entities/{estate.builder}/{panel}", headers=HTMX)
        assert answer.text.lstrip().startswith(f'<section id="{root}"'), panel


def test_the_csrf_token_of_the_page_is_accepted(admin_client, estate):
    token = csrf_token(admin_client.get(f"/entities/{estate.builder}").text)

    answer = admin_client.post(f"/entities/{estate.builder}/activity", data={"csrf_token": token})

    assert answer.status_code == 302

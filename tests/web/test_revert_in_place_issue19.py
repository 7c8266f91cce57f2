"""A revert is confirmed in the entity page's panel (issue 19: a refused inline revert jumped to
a page of its own): the refusal comes back in place, its message marked for focus, and a done
revert says so in place and asks the page's panels to refresh."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import json

import pytest

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
from webapp.models import Entity, StatusChange


@pytest.fixture
def sold(estate, run, sm) -> tuple[int, int]:
    """A property sold (a final state): (property id, id of the selling change)."""
    pid = estate.properties[0]
    run(lambda s: sm.transition(s, SEEDER, pid, "under_contract"))
    run(lambda s: sm.transition(s, SEEDER, pid, "sold"))
    change = run(lambda s: s.query(StatusChange).filter_by(entity_id=pid)
                 .order_by(StatusChange.id.desc()).first().id)
    return pid, change


def test_the_panels_preview_confirms_through_htmx_and_the_page_of_its_own_does_not(
        admin_client, sold):
    pid, change = sold

    panel = admin_client.get(f"/entities/{pid}/revert?change_id={change}", headers=HTMX).text
    page = admin_client.get(f"/entities/{pid}/revert?change_id={change}").text

    assert f'hx-post="/entities/{pid}/revert" hx-target="closest section"' in panel
    assert "data-swap-errors" in panel
    assert f'action="/entities/{pid}/revert"' in page and "hx-post" not in page


def test_a_refused_revert_comes_back_in_the_panel_with_its_message_marked_for_focus(
        admin_client, sold, run):
    pid, change = sold

    refused = post(admin_client, f"/entities/{pid}/revert",
                   {"change_id": change, "reason": "sold by mistake"})

    assert refused.status_code == 422
    assert "<html" not in refused.text and 'class="card revert-preview"' in refused.text
    assert 'data-focus-on-swap="error"><p><strong>Not reverted.</strong>' in refused.text
    assert "sold by mistake" in refused.text  # the reason typed is kept
    assert run(lambda s: s.get(Entity, pid).status) == "sold"


def test_a_refused_revert_without_script_is_its_page_with_the_message_focused(
        admin_client, sold):
    pid, change = sold

    refused = post(admin_client, f"/entities/{pid}/revert",
                   {"change_id": change, "reason": "sold by mistake"}, htmx=False)

    assert refused.status_code == 422 and "<html" in refused.text
    assert 'data-focus-on-swap="error" autofocus><p><strong>Not reverted.' in refused.text


def test_a_done_revert_says_so_in_place_and_refreshes_the_pages_panels(admin_client, sold, run):
    pid, change = sold

    done = post(admin_client, f"/entities/{pid}/revert",
                {"change_id": change, "reason": "sold by mistake", "force": "y"})

    assert done.status_code == 200 and "<html" not in done.text
    assert "Reverted: property" in done.text and "is under contract now." in done.text
    assert 'data-focus-on-swap' in done.text
    assert set(json.loads(done.headers["HX-Trigger"])) == {
        "details-changed", "actions-changed", "timeline-changed"}
    assert run(lambda s: s.get(Entity, pid).status) == "under_contract"

"""Reverting from the entity page: a preview first (what changes, whether the workflow allows
it), then the confirmation; admins may force what the workflow forbids."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re

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


def last_change(run, entity_id: int) -> StatusChange:
    return run(lambda s: s.query(StatusChange).filter_by(entity_id=entity_id)
               .order_by(StatusChange.id.desc()).first())


def status_of(run, entity_id: int) -> str:
    return run(lambda s: s.get(Entity, entity_id).status)


@pytest.fixture
def suspended(estate, run, sm) -> tuple[int, int]:
    """A builder that was suspended: (builder id, id of the suspending change)."""
    run(lambda s: sm.transition(s, SEEDER, estate.builder, "suspended", reason="late payments"))
    return estate.builder, last_change(run, estate.builder).id


@pytest.fixture
def sold(estate, run, sm) -> tuple[int, int]:
    """A property sold (a final state): (property id, id of the selling change)."""
    pid = estate.properties[0]
    run(lambda s: sm.transition(s, SEEDER, pid, "under_contract"))
    run(lambda s: sm.transition(s, SEEDER, pid, "sold"))
    return pid, last_change(run, pid).id


def test_the_preview_shows_what_would_change_and_that_it_is_allowed(login_as, suspended, run):
    builder, change = suspended

    preview = login_as("support").get(f"/entities/{builder}/revert?change_id={change}", headers=HTMX)

    assert preview.status_code == 200
    assert re.search(r'<th scope="row">Status</th><td><span class="status">suspended</span></td>'
                     r'<td><span class="status">active</span>', preview.text)
    assert "The workflow allows this." in preview.text
    assert "Confirm revert" in preview.text
    assert status_of(run, builder) == "suspended"  # a preview changes nothing


def test_confirming_reverts_with_the_reason_and_source_revert(login_as, suspended, run):
    builder, change = suspended

    answer = post(login_as("support"), f"/entities/{builder}/revert",
                  {"change_id": str(change), "reason": "suspended by mistake"}, htmx=False)

    assert answer.status_code == 302
    assert status_of(run, builder) == "active"
    row = last_change(run, builder)
    assert (row.source, row.reason, row.meta["reverted_change"]) == ("revert", "suspended by mistake",
                                                                     change)


def test_a_revert_without_a_reason_stays_on_the_preview_with_the_error(admin_client, suspended, run):
    builder, change = suspended

    answer = post(admin_client, f"/entities/{builder}/revert", {"change_id": str(change)}, htmx=False)

    assert answer.status_code == 400
    assert "Say why you revert" in answer.text
    assert "The workflow allows this." in answer.text
    assert status_of(run, builder) == "suspended"


def test_a_revert_the_workflow_forbids_shows_why_and_only_an_admin_may_force(login_as, sold, run):
    pid, change = sold

    support_view = login_as("support").get(f"/entities/{pid}/revert?change_id={change}").text
    admin_view = login_as("admin").get(f"/entities/{pid}/revert?change_id={change}").text

    assert "The workflow does not allow this move:" in support_view
    assert "a final state" in support_view
    assert "Only an admin may force it." in support_view and "Confirm revert" not in support_view
    assert 'name="force"' in admin_view and "Confirm revert" in admin_view


def test_an_admin_forces_a_forbidden_revert_with_a_reason(admin_client, sold, run):
    pid, change = sold

    refused = post(admin_client, f"/entities/{pid}/revert",
                   {"change_id": str(change), "reason": "sale fell through"}, htmx=False)
    forced = post(admin_client, f"/entities/{pid}/revert",
                  {"change_id": str(change), "reason": "sale fell through", "force": "y"}, htmx=False)

    assert refused.status_code == 422
    assert "Not reverted." in refused.text
    assert forced.status_code == 302
    assert status_of(run, pid) == "under_contract"


def test_support_cannot_force_a_revert(login_as, sold, run):
    pid, change = sold

    answer = post(login_as("support"), f"/entities/{pid}/revert",
                  {"change_id": str(change), "reason": "sale fell through", "force": "y"}, htmx=False)

    assert answer.status_code == 403
    assert status_of(run, pid) == "sold"


def test_going_back_to_a_time_previews_the_state_then(admin_client, estate, run, sm, clock):
    builder = estate.builder
    clock.advance(hours=1)
    then = clock().strftime("%Y-%m-%dT%H:%M")
    clock.advance(hours=1)
    run(lambda s: sm.update_entity(s, SEEDER, builder, version=1, data={"headquarters": "Portland"}))
    run(lambda s: sm.transition(s, SEEDER, builder, "suspended"))

    preview = admin_client.get(f"/entities/{builder}/revert?at={then}", headers=HTMX).text

    assert "Go back to" in preview and "The workflow allows this." in preview
    assert re.search(r'Headquarters</th>\s*<td class="before">Portland</td>\s*'
                     r'<td class="after"><span class="muted">removed</span>', preview)
    done = post(admin_client, f"/entities/{builder}/revert", {"at": then, "reason": "undo all"},
                htmx=False)
    assert done.status_code == 302
    assert run(lambda s: (s.get(Entity, builder).status, s.get(Entity, builder).data)) == ("active", {})


@pytest.mark.parametrize("query, message", [
    ("change_id=1", "creation of an entity cannot be reverted"),
    ("change_id=999", "has no change 999"),
    ("", "Give either change_id or at"),
    ("at=not-a-time", "Use a date and time like"),
])
def test_what_cannot_be_reverted_is_explained_on_the_preview(admin_client, estate, query, message):
    preview = admin_client.get(f"/entities/{estate.builder}/revert?{query}", headers=HTMX)

    assert preview.status_code in (400, 404, 422)
    assert "This cannot be reverted." in preview.text and message in preview.text


def test_the_timeline_offers_revert_only_to_roles_that_may(login_as, suspended):
    builder, change = suspended

    support = login_as("support").get(f"/entities/{builder}").text
    auditor = login_as("auditor").get(f"/entities/{builder}").text

    assert f"/entities/{builder}/revert?change_id={change}" in support
    assert "/revert?" not in auditor
    assert login_as("auditor").get(f"/entities/{builder}/revert?change_id={change}").status_code == 403

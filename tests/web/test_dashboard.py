"""The dashboard: counts as a chart, entities at risk, recent changes, sweeps, event health."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    SEEDER,
    create,
    estate,
    fresh_state_manager,
    run,
    sm,
)
from webapp.models import ROLES, OutboxEvent, SweepRun


def bar_count(html: str, type_: str, status: str) -> int | None:
    """The number drawn at the end of one bar of the chart."""
    match = re.search(rf'<a class="bar-link" href="/entities/\?type={type_}&amp;status={status}">'
                      rf'.*?<text class="bar-count"[^>]*>([\d,]+)</text>', html, re.DOTALL)
    return int(match.group(1).replace(",", "")) if match else None


def test_each_bar_counts_a_status_and_links_to_that_list(admin_client, estate):
    page = admin_client.get("/")

    assert page.status_code == 200
    assert bar_count(page.text, "property", "available") == 3
    assert bar_count(page.text, "property", "sold") == 0
    assert bar_count(page.text, "builder", "active") == 1
    assert 'href="/entities/?type=property"' in page.text


def test_counts_change_at_once_when_entities_are_created_or_moved(admin_client, estate, create,
                                                                  run, sm, clock):
    admin_client.get("/")
    create("property", "Another Lot", parent_id=estate.community)
    created = admin_client.get("/").text
    run(lambda s: sm.transition(s, SEEDER, estate.properties[0], "pending"))
    moved = admin_client.get("/").text

    assert bar_count(created, "property", "available") == 4
    assert (bar_count(moved, "property", "available"), bar_count(moved, "property", "pending")) \
        == (3, 1)
    assert f"Counts are exact as of {clock().strftime('%Y-%m-%d %H:%M')}" in \
        re.sub(r"<[^>]+>", "", moved)


def test_entities_past_their_warning_period_are_at_risk_with_a_link(admin_client, estate, create,
                                                                    clock):
    create("property", "Forgotten Lot", parent_id=estate.community,
           last_activity_at=clock() - timedelta(days=50))

    page = admin_client.get("/").text

    link = re.search(r'<a href="(/entities/\?[^"]*quiet_days=45[^"]*)">\s*<strong>(\d+)</strong>', page)
    assert link and link.group(2) == "1"
    assert "type=property" in link.group(1) and "status=available" in link.group(1)
    listed = admin_client.get(link.group(1).replace("&amp;", "&")).text
    assert "Forgotten Lot" in listed and "1 matching" in listed


def test_nothing_at_risk_says_so(admin_client, estate):
    assert "Nothing is at risk" in admin_client.get("/").text


def test_recent_changes_link_to_the_entity(admin_client, estate, run, sm):
    run(lambda s: sm.transition(s, SEEDER, estate.builder, "suspended"))

    page = admin_client.get("/").text

    recent = page[page.index('id="recent"'):]
    assert re.search(rf'<a href="/entities/{estate.builder}">builder \d+</a></td>\s*<td>suspend: '
                     r'<span class="status">active</span> → <span class="status">suspended</span>',
                     recent)


def test_the_last_sweep_is_shown_with_its_figures(admin_client, estate, run, clock):
    def add(session):
        session.add(SweepRun(started_at=clock(), finished_at=clock(), scanned=1234, warned=5,
                             inactivated=2, reactivated=1, triggered_by="worker"))
        session.commit()

    assert "No sweep has run yet." in admin_client.get("/").text
    run(add)
    page = re.sub(r"\s+", " ", admin_client.get("/").text)

    assert "Last real run" in page
    assert "<dt>Scanned</dt><dd>1,234</dd>" in page
    assert "<dt>Inactivated</dt><dd>2</dd>" in page


def test_event_delivery_counts_waiting_and_dead_events(admin_client, estate, run, clock):
    healthy = admin_client.get("/").text

    def kill_one(session):
        session.add(OutboxEvent(event_type="StatusChanged", payload={}, state="dead",
                                idempotency_key=str(uuid.uuid4()), created_at=clock(),
                                next_attempt_at=clock(), attempts=8))
        session.commit()

    run(kill_one)
    sick = re.sub(r"\s+", " ", admin_client.get("/").text)

    assert "healthy" in healthy
    waiting = int(re.search(r"<dt>Waiting to be delivered</dt><dd>(\d+)</dd>", sick).group(1))
    assert waiting >= 6  # one EntityCreated per entity of the estate, none delivered yet
    assert "<dt>Dead events</dt><dd>1</dd>" in sick
    assert "needs attention" in sick


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_dashboard(login_as, estate, role):
    assert login_as(role).get("/").status_code == 200


def test_an_empty_database_gets_a_helpful_dashboard(admin_client, sm):
    page = admin_client.get("/").text

    assert "No entities yet." in page
    assert "seed-demo" in page


def test_names_in_recent_changes_are_escaped(admin_client, create):
    create("builder", "<img src=x onerror=alert(1)>")

    page = admin_client.get("/").text

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page

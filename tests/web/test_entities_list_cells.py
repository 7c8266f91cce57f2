"""The entity list's table cells, which the view writes as markup (list_rows.py, list_fields.py)."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    create,
    fresh_state_manager,
    sm,
)


def row_of(html: str, entity_id: int) -> str:
    found = re.search(rf'<tr>\s*(?:<td class="check">.*?</td>\s*)?<td class="num">{entity_id}</td>'
                      r".*?</tr>", html, re.DOTALL)
    assert found, f"no row for {entity_id}"
    return found.group(0)


def test_each_row_links_the_entity_and_its_parent_by_name(admin_client, create):
    builder = create("builder", "Acme Homes")
    community = create("community", "Willow Park", parent_id=builder)

    row = row_of(admin_client.get("/entities/?type=community").text, community)

    assert f'<a href="/entities/{community}">Willow Park</a>' in row
    assert f'<a href="/entities/{builder}" title="Acme Homes">Acme Homes</a>' in row
    assert 'class="status cat-' in row


def test_a_row_without_a_parent_shows_a_dash(admin_client, create):
    builder = create("builder", "Summit Builders")

    row = row_of(admin_client.get("/entities/?type=builder").text, builder)

    assert '<span class="muted">—</span>' in row


def test_last_activity_reads_as_days_ago_with_the_exact_time_on_hover(admin_client, create,
                                                                     clock):
    builder = create("builder", "Acme Homes")
    started = clock()

    assert ">today</time>" in row_of(admin_client.get("/entities/?type=builder").text, builder)
    clock.advance(days=1)
    assert ">yesterday</time>" in row_of(admin_client.get("/entities/?type=builder").text,
                                         builder)
    clock.advance(days=2)
    row = row_of(admin_client.get("/entities/?type=builder").text, builder)
    assert ">3 days ago</time>" in row
    assert f'title="{started:%Y-%m-%d %H:%M} UTC"' in row
    assert f'datetime="{started.isoformat()}"' in row


def test_names_in_cells_are_escaped(admin_client, create):
    builder = create("builder", "<b>Bold & Co</b>")

    row = row_of(admin_client.get("/entities/?type=builder").text, builder)

    assert "&lt;b&gt;Bold &amp; Co&lt;/b&gt;" in row
    assert "<b>Bold" not in row

"""Status badges read the state's label from the workflow, not its key, wherever an entity's
type is known: the entity page's header, actions and timeline, its children, and approval
cards; the key stays in the badge's title for those who know the workflow by its keys."""
from __future__ import annotations

import re

from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    SEEDER,
    estate,
    fresh_state_manager,
    run,
    sm,
)


def _badges(page: str) -> list[tuple[str, str]]:
    """(title, text) of every status badge that names its key."""
    return re.findall(r'<span class="status[^"]*" title="([^"]+)">([^<]+)</span>', page)


def test_the_entity_page_shows_state_labels_with_keys_as_titles(admin_client, estate, run, sm):  # noqa: F811
    prop = estate.properties[0]
    run(lambda s: sm.transition(s, SEEDER, prop, "under_contract"))

    page = admin_client.get(f"/entities/{prop}").text

    badges = _badges(page)
    assert ("under_contract", "Under contract") in badges  # header, actions and timeline
    assert not re.search(r'<span class="status[^"]*">under_contract</span>', page)


def test_children_on_a_parent_page_show_labels(admin_client, estate, run, sm):  # noqa: F811
    run(lambda s: sm.transition(s, SEEDER, estate.properties[1], "off_market"))

    page = admin_client.get(f"/entities/{estate.community}").text

    assert ("off_market", "Off market") in _badges(page)

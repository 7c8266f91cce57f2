"""The draft editor's document edits (no database): states and transitions added, renamed and
removed, with every reference following."""
from __future__ import annotations

import pytest

from webapp.core.base.errors import InvalidInput
from webapp.core.publishing import diffing
from webapp.core.publishing import draft_edits as edits
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows.registry import load_pack


@pytest.fixture
def ticket() -> dict:
    return wfmod.to_document(wfmod.parse("ticket", load_pack("facilities")["types"]["ticket"]))


def test_renaming_a_state_renames_every_reference_and_reads_as_removed_plus_added(ticket):
    new = edits.rename_state(ticket, "ONHOLD", "WAITING")

    assert "ONHOLD" not in new["states"] and "WAITING" in new["states"]
    assert any(t["to"] == "WAITING" for t in new["transitions"])
    assert all("ONHOLD" not in t["from"] for t in new["transitions"])
    assert new["slas"][0]["pause"] == ["WAITING"]
    assert wfmod.check(wfmod.parse("ticket", new)) == []
    d = diffing.diff(ticket, new)
    assert (d.names("states", "removed"), d.names("states", "added")) == ({"ONHOLD"}, {"WAITING"})


def test_removing_a_state_takes_the_transitions_into_it_and_its_sla_mentions(ticket):
    new = edits.remove_state(ticket, "ONHOLD")

    assert "ONHOLD" not in new["states"]
    assert all(t["to"] != "ONHOLD" and "ONHOLD" not in t["from"] for t in new["transitions"])
    assert new["slas"][0]["pause"] == []
    with pytest.raises(InvalidInput):
        edits.remove_state(ticket, "NEW")  # where new entities start


def test_a_transition_is_added_and_renamed_keeping_its_rules(ticket):
    added = edits.set_transition(ticket, None, "triage", ["NEW"], "OPEN", ["admin"], True,
                                 ["admin"])
    spec = added["transitions"][-1]
    assert spec == {"name": "triage", "from": ["NEW"], "to": "OPEN", "roles": ["admin"],
                    "comment_required": True, "approval": {"roles": ["admin"]}}
    ruled = edits.set_part(added, "rules:triage", [{"kind": "min_age", "params": {"days": 1}}])
    renamed = edits.set_transition(ruled, "triage", "screen", ["NEW"], "OPEN")
    assert renamed["transitions"][-1]["rules"] == [{"kind": "min_age", "params": {"days": 1}}]
    with pytest.raises(InvalidInput) as taken:
        edits.set_transition(ticket, None, "resolve", ["NEW"], "OPEN")
    assert "name" in taken.value.fields
    with pytest.raises(InvalidInput) as nowhere:
        edits.set_transition(ticket, None, "jump", ["NEW"], "MOON")
    assert "to" in nowhere.value.fields

"""Workflow documents: parsing and the static checks an editor sees before saving (no database)."""
from __future__ import annotations

from typing import Any

import pytest

from webapp.core.base.errors import InvalidInput
from webapp.core.workflows import definition as workflow
from webapp.core.workflows import registry
from webapp.core.workflows.rules import RULE_KINDS


def document(states: dict[str, dict[str, Any]], transitions: list[tuple[str, Any, str]],
             initial: str = "new", **extra: Any) -> dict[str, Any]:
    return {"initial": initial, "states": states,
            "transitions": [{"name": n, "from": f, "to": t} for n, f, t in transitions], **extra}


def problems_of(doc: dict[str, Any], known_types: set[str] = frozenset()) -> list[str]:
    return registry.problems(workflow.parse("gadget", doc), set(known_types) | {"gadget"})


OPEN = {"new": {}, "open": {}, "DONE": {"terminal": True, "category": "closed"}}
FLOW = [("open", "new", "open"), ("finish", "open", "DONE")]


def test_a_well_formed_workflow_has_no_problems():
    assert problems_of(document(OPEN, FLOW)) == []


def test_a_state_no_transition_reaches_is_reported_unreachable():
    states = {**OPEN, "limbo": {}}
    found = problems_of(document(states, [*FLOW, ("leave", "limbo", "open")]))
    assert found == ["State 'limbo' cannot be reached from 'new'."]


def test_a_state_with_no_way_out_must_be_marked_terminal():
    states = {**OPEN, "stuck": {}}
    found = problems_of(document(states, [*FLOW, ("park", "open", "stuck")]))
    assert found == ["State 'stuck' is a dead end but not marked terminal."]


def test_a_terminal_state_with_a_way_out_is_reported():
    found = problems_of(document(OPEN, [*FLOW, ("undo", "DONE", "open")]))
    assert found == ["State 'DONE' is terminal but has transitions out of it."]


def test_a_transition_name_used_twice_is_reported():
    found = problems_of(document(OPEN, [*FLOW, ("open", "DONE", "new")]))
    assert "Transition name 'open' is used twice." in found


@pytest.mark.parametrize("transition, unknown", [
    (("jump", "new", "elsewhere"), "elsewhere"),
    (("jump", "nowhere", "open"), "nowhere"),
    (("jump", ["new", "ghost"], "open"), "ghost"),
])
def test_a_transition_naming_an_unknown_state_is_reported(transition, unknown):
    found = problems_of(document(OPEN, [*FLOW, transition]))
    assert f"Transition 'jump' names unknown state {unknown!r}." in found


def test_an_initial_state_that_is_not_a_state_is_reported():
    found = problems_of(document(OPEN, FLOW, initial="start"))
    assert "Initial state 'start' is not one of the states." in found


def test_a_wildcard_transition_never_leaves_a_terminal_state():
    wf = workflow.parse("gadget", document(OPEN, [*FLOW, ("cancel", "*", "new")]))
    assert [t.name for t in wf.transitions_from("open")] == ["finish", "cancel"]
    assert wf.transitions_from("DONE") == []
    assert wf.find("DONE", "new") is None
    assert registry.problems(wf, {"gadget"}) == []


def test_a_wildcard_transition_never_offers_a_move_to_the_state_itself():
    wf = workflow.parse("gadget", document(OPEN, [*FLOW, ("reset", "*", "new")]))
    assert [t.name for t in wf.transitions_from("new")] == ["open"]


def test_states_are_found_whatever_their_case():
    wf = workflow.parse("gadget", document(OPEN, FLOW))
    assert wf.state("done").name == "DONE"
    assert wf.state("OPEN").name == "open"
    assert wf.state("opened") is None


def test_an_unknown_rule_kind_is_refused_with_its_path():
    doc = document(OPEN, FLOW)
    doc["transitions"][1]["rules"] = [{"kind": "moon_phase", "params": {}}]
    with pytest.raises(InvalidInput) as refused:
        workflow.parse("gadget", doc)
    assert refused.value.fields["types.gadget.transitions[1].rules[0].kind"].startswith(
        "must be one of")


@pytest.mark.parametrize("kind, params, complaint", [
    ("field_condition", {"field": "x", "op": "between", "value": 1}, "op must be one of"),
    ("cutoff_day", {"setting": "no_such_setting"}, "setting is not a known setting"),
])
def test_a_rule_with_bad_parameters_is_reported(kind, params, complaint):
    doc = document(OPEN, FLOW)
    doc["transitions"][1]["rules"] = [{"kind": kind, "params": params}]
    found = problems_of(doc)
    assert any(f"Rule {kind!r} on 'finish': {complaint}" in p for p in found), found


@pytest.mark.parametrize("kind, params, param, complaint", [
    ("min_age", {}, "days", "is required"),
    ("min_age", {"days": "thirty"}, "days", "must be a whole number"),
    ("min_age", {"days": -1}, "days", "must be at least 0"),
    ("required_fields", {"fields": []}, "fields", "must not be empty"),
    ("no_related_in_states", {"path": ["property"]}, "states", "is required"),
])
def test_a_rule_with_badly_typed_parameters_is_refused_with_its_path(kind, params, param,
                                                                      complaint):
    doc = document(OPEN, FLOW)
    doc["transitions"][1]["rules"] = [{"kind": kind, "params": params}]
    with pytest.raises(InvalidInput) as refused:
        workflow.parse("gadget", doc)
    path = f"types.gadget.transitions[1].rules[0].params.{param}"
    assert refused.value.fields[path].startswith(complaint), refused.value.fields


def test_a_cascade_into_an_unknown_type_is_reported():
    doc = document(OPEN, FLOW, cascades=[
        {"on_enter": "DONE", "path": ["widget"], "from": ["new"], "to": "open"}])
    assert "Cascade on 'DONE' names unknown type 'widget'." in problems_of(doc)


def test_a_cascade_or_sweep_naming_a_state_the_workflow_lacks_is_reported():
    doc = document(OPEN, FLOW, cascades=[
        {"on_enter": "closed", "path": ["gadget"], "from": ["new"], "to": "open"}],
        sweep={"from": ["open"], "inactive": "dormant", "reactivate_to": "open"})
    found = problems_of(doc)
    assert "Cascade on 'closed' names unknown state 'closed'." in found
    assert "The sweep names unknown state 'dormant'." in found


def test_a_derived_status_naming_a_state_the_workflow_lacks_is_reported():
    doc = document(OPEN, FLOW, derived=[{
        "child_type": "gadget", "count_states": ["open"], "trigger_states": ["DONE"],
        "applies_in": ["open"], "thresholds": [{"at_most": 0, "to": "finished"}]}])
    assert "A derived status names unknown state 'finished'." in problems_of(doc)


def test_a_parent_type_that_is_not_known_is_reported():
    found = problems_of(document(OPEN, FLOW, parent_type="widget"))
    assert found == ["Parent type 'widget' is not a known entity type."]


@pytest.mark.parametrize("doc, path", [
    ({"initial": "new"}, "types.gadget.states"),
    ({"states": {"new": {}}}, "types.gadget.initial"),
    ({"initial": "new", "states": {"new": {"category": "sleepy"}}},
     "types.gadget.states.new.category"),
    ({"initial": "new", "states": {"new": {}}, "transitions": [{"name": "x", "to": "new"}]},
     "types.gadget.transitions[0].from"),
    ({"initial": "new", "states": ["new"]}, "types.gadget.states"),
])
def test_a_malformed_document_is_refused_with_the_path_of_the_problem(doc, path):
    with pytest.raises(InvalidInput) as refused:
        workflow.parse("gadget", doc)
    assert "gadget" in refused.value.message
    assert refused.value.fields[path]


BUILTIN = [(pack, entity_type) for pack in registry.PACKS
           for entity_type in registry.load_pack(pack)["types"]]


@pytest.mark.parametrize("pack, entity_type", BUILTIN)
def test_every_builtin_workflow_passes_the_static_checks(pack, entity_type):
    types = registry.load_pack(pack)["types"]
    wf = workflow.parse(entity_type, types[entity_type])
    assert registry.problems(wf, set(types)) == []


@pytest.mark.parametrize("pack, entity_type", BUILTIN)
def test_every_builtin_workflow_survives_export_and_import_unchanged(pack, entity_type):
    wf = workflow.parse(entity_type, registry.load_pack(pack)["types"][entity_type])
    assert workflow.parse(entity_type, workflow.to_document(wf)) == wf


def test_the_builtin_packs_declare_the_types_and_states_of_the_contract():
    realestate = registry.load_pack("realestate")["types"]
    facilities = registry.load_pack("facilities")["types"]
    accounts = registry.load_pack("accounts")["types"]
    assert set(realestate) == {"builder", "community", "property", "sales_rep"}
    assert set(facilities) == {"work_order", "task", "attendance", "ticket"}
    assert set(accounts) == {"user_account", "transaction", "subscription", "feature_flag"}
    terminal = {t: sorted(s for s, spec in doc["states"].items() if spec.get("terminal"))
                for t, doc in {**realestate, **facilities}.items()}
    assert terminal == {
        "builder": ["merged", "out_of_business"], "community": [], "property": ["sold"],
        "sales_rep": [], "work_order": ["CANCELLED", "CLOSED", "REJECTED"],
        "task": ["AUTOCLOSED"], "attendance": ["LOCKED"], "ticket": ["CANCELLED", "CLOSED"]}
    for doc in accounts.values():
        assert {t["name"] for t in doc["transitions"]} == {"activate", "suspend", "resume", "expire"}


def test_the_rule_kinds_of_the_issue_are_registered():
    assert {"min_age", "no_related_in_states", "required_fields", "field_condition",
            "comment_required", "cutoff_day"} <= set(RULE_KINDS)

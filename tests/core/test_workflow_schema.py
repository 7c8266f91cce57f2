"""One schema for workflow files: an unknown or misspelt key anywhere is refused with its path
(CONTRACT §7), through the parser, a file import and every shipped pack."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import definition as workflow
from webapp.core.workflows import packs, registry, schema
from webapp.models import WorkflowDefinition

BUILTIN = [(pack, entity_type) for pack in registry.PACKS
           for entity_type in registry.load_pack(pack)["types"]]


def facilities() -> dict[str, Any]:
    return copy.deepcopy(registry.load_pack("facilities"))


def with_rolse() -> dict[str, Any]:
    """The facilities pack with a misspelt ``roles`` on the ticket's third transition."""
    doc = facilities()
    doc["types"]["ticket"]["transitions"][2]["rolse"] = ["admin"]
    return doc


def refusal(check, *args) -> schema.DocumentInvalid:
    with pytest.raises(schema.DocumentInvalid) as refused:
        check(*args)
    return refused.value


def stored(session, entity_type: str) -> WorkflowDefinition:
    session.rollback()
    return session.scalar(select(WorkflowDefinition)
                          .where(WorkflowDefinition.entity_type == entity_type))


# ------------------------------------------------------------------- the misspelt key

def test_a_misspelt_roles_is_refused_with_its_path_instead_of_opening_the_transition():
    err = refusal(schema.check_file, with_rolse())

    assert err.fields == {"types.ticket.transitions[2].rolse": "is not a known key"}
    assert err.problems == ["types.ticket.transitions[2].rolse is not a known key."]
    assert "types.ticket.transitions[2].rolse is not a known key." in err.message


def test_parsing_one_type_names_the_key_by_the_same_path_as_a_file_does():
    ticket = with_rolse()["types"]["ticket"]

    err = refusal(workflow.parse, "ticket", ticket)

    assert err.fields == {"types.ticket.transitions[2].rolse": "is not a known key"}
    assert "'ticket'" in err.message


def test_importing_a_file_with_a_misspelt_key_saves_no_type_at_all(manager, session, admin,
                                                                   clock):
    before = {t: stored(session, t).definition for t in ("work_order", "ticket")}

    with write_transaction(session):
        err = refusal(packs.import_document, session, manager.workflows, with_rolse(), admin,
                      clock())

    assert "types.ticket.transitions[2].rolse" in err.fields
    assert {t: stored(session, t).definition for t in before} == before


@pytest.mark.parametrize(("where", "key"), [
    ((), "descripton"),
    (("types", "ticket"), "transition"),
    (("types", "ticket", "states", "NEW"), "termnal"),
    (("types", "ticket", "transitions", 0, "rules", 0), "mesage"),
    (("types", "community", "derived", 0), "applies"),
    (("types", "community", "derived", 0, "thresholds", 0), "at_least"),
    (("types", "builder", "cascades", 0), "onenter"),
    (("types", "builder", "sweep"), "reactivate"),
    (("types", "builder", "settings", "builder_grace_period"), "defualt"),
])
def test_an_unknown_key_is_refused_wherever_it_is(where, key):
    doc = {"pack": "mixed", "types": {**facilities()["types"],
                                      **registry.load_pack("realestate")["types"]}}
    doc["types"]["ticket"]["transitions"][0]["rules"] = [{"kind": "comment_required"}]
    target = doc
    for step in where:
        target = target[step]
    target[key] = "x"

    err = refusal(schema.check_file, doc)

    path = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in (*where, key)).lstrip(".")
    assert err.fields == {path: "is not a known key"}


def test_an_unknown_key_in_a_field_spec_is_refused_with_its_path():
    doc = facilities()
    doc["types"]["ticket"]["fields"] = {"priority": {"type": "choice", "choises": ["LOW"]}}

    err = refusal(schema.check_file, doc)

    assert err.fields["types.ticket.fields.priority.choises"] == "is not a known key"


# ------------------------------------------------------------------------ the sentences

@pytest.mark.parametrize(("change", "path", "sentence"), [
    ({"roles": ["root"]}, "types.ticket.transitions[2].roles[0]",
     "must be one of admin, support, config_editor or auditor"),
    ({"comment_required": "yes"}, "types.ticket.transitions[2].comment_required",
     "must be true or false"),
    ({"to": None}, "types.ticket.transitions[2].to", "must be text"),
    ({"from": []}, "types.ticket.transitions[2].from", "must not be empty"),
    ({"name": "put on hold"}, "types.ticket.transitions[2].name",
     "must be letters, digits and _, starting with a letter (at most 50)"),
    ({"rules": [{"params": {}}]}, "types.ticket.transitions[2].rules[0].kind", "is required"),
])
def test_a_bad_value_is_refused_with_a_sentence_a_person_can_act_on(change, path, sentence):
    doc = facilities()
    doc["types"]["ticket"]["transitions"][2].update(change)

    assert refusal(schema.check_file, doc).fields == {path: sentence}


def test_a_missing_key_and_a_type_name_that_cannot_be_one_are_named():
    doc = facilities()
    del doc["types"]["ticket"]["initial"]
    doc["types"]["Bad Name!"] = doc["types"].pop("task")

    fields = refusal(schema.check_file, doc).fields

    assert fields["types.ticket.initial"] == "is required"
    assert fields["types.Bad Name!"] == ("is not a valid name: use lower-case letters, digits "
                                         "and _, starting with a letter (at most 50)")


def test_a_file_that_is_not_an_object_or_has_no_types_is_refused():
    assert refusal(schema.check_file, ["ticket"]).fields == {"file": "must be an object"}
    assert refusal(schema.check_file, {"pack": "x"}).fields == {"types": "is required"}
    assert refusal(schema.check_file, {"types": {}}).fields == {"types": "must not be empty"}


def test_a_long_list_of_problems_is_cut_short_in_the_message_but_kept_in_fields():
    doc = facilities()
    for i, transition in enumerate(doc["types"]["ticket"]["transitions"]):
        transition[f"typo{i}"] = True
    for i in range(5):
        doc["types"]["task"][f"typo{i}"] = True

    err = refusal(schema.check_file, doc)

    assert len(err.fields) == len(err.problems) > schema.SHOWN
    assert err.message.endswith(f"…and {len(err.problems) - schema.SHOWN} more.")


# ------------------------------------------------------------------------- rule params

@pytest.mark.parametrize(("rule", "path", "sentence"), [
    ({"kind": "min_age", "params": {"dayz": 30}}, "params.dayz", "is not a known key"),
    ({"kind": "min_age", "params": {"dayz": 30}}, "params.days", "is required"),
    ({"kind": "min_age", "params": {"days": "30"}}, "params.days", "must be a whole number"),
    ({"kind": "min_age", "params": {"days": -1}}, "params.days", "must be at least 0"),
    ({"kind": "min_age"}, "params", "is required"),
    ({"kind": "comment_required", "params": {"why": 1}}, "params.why", "is not a known key"),
    ({"kind": "required_fields", "params": {"fields": []}}, "params.fields", "must not be empty"),
    ({"kind": "cutoff_day", "params": {"settings": "payroll_cutoff_day"}}, "params.settings",
     "is not a known key"),
])
def test_rule_params_are_checked_against_the_kind_s_typed_params(rule, path, sentence):
    doc = facilities()
    doc["types"]["ticket"]["transitions"][0]["rules"] = [rule]

    fields = refusal(schema.check_file, doc).fields

    assert fields[f"types.ticket.transitions[0].rules[0].{path}"] == sentence


def test_an_unknown_rule_kind_is_refused_naming_the_kinds_there_are():
    doc = facilities()
    doc["types"]["ticket"]["transitions"][0]["rules"] = [{"kind": "moon_phase", "params": {}}]

    sentence = refusal(schema.check_file, doc).fields["types.ticket.transitions[0].rules[0].kind"]

    assert sentence.startswith("must be one of ")
    assert "min_age" in sentence and "comment_required" in sentence


def test_field_condition_may_compare_with_any_value():
    doc = facilities()
    doc["types"]["ticket"]["transitions"][0]["rules"] = [
        {"kind": "field_condition", "params": {"field": "priority", "op": "in",
                                               "value": ["HIGH", "CRITICAL"]}}]

    schema.check_file(doc)


# --------------------------------------------------------------- what ships, round trips

@pytest.mark.parametrize("pack", registry.PACKS)
def test_every_shipped_pack_fits_the_schema(pack):
    schema.check_file(registry.load_pack(pack))


@pytest.mark.parametrize(("pack", "entity_type"), BUILTIN)
def test_every_pack_type_exported_imports_back_unchanged(manager, session, admin, clock, pack,
                                                          entity_type):
    exported = json.loads(json.dumps(registry.export_document(session, manager.workflows,
                                                               entity_type)))
    before = stored(session, entity_type).definition

    schema.check_file(exported)
    with write_transaction(session):
        assert packs.import_document(session, manager.workflows, exported, admin,
                                     clock()) == [entity_type]

    assert stored(session, entity_type).definition == before

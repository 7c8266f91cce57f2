"""The ``approval`` block of a transition in a workflow file (CONTRACT §9): parsed, exported
and checked like every other key; the packs ask for it where the contract says."""
from __future__ import annotations

import copy

import pytest

from webapp.core.workflows import definition as workflow
from webapp.core.workflows import registry, schema


def _attendance() -> dict:
    return copy.deepcopy(registry.load_pack("facilities")["types"]["attendance"])


def test_the_packs_need_admin_approval_to_close_a_builder_and_adjust_attendance():
    builder = workflow.parse("builder", registry.load_pack("realestate")["types"]["builder"])
    attendance = workflow.parse("attendance", _attendance())

    assert builder.by_name("close").approval_roles == ("admin",)
    assert attendance.by_name("adjust").approval_roles == ("admin",)
    assert builder.by_name("suspend").approval_roles == ()


def test_the_approval_block_survives_export_and_import():
    wf = workflow.parse("attendance", _attendance())
    again = workflow.parse("attendance", workflow.to_document(wf))

    assert again.by_name("adjust").approval_roles == ("admin",)
    assert "approval" not in workflow.to_document(wf)["transitions"][0]


@pytest.mark.parametrize(("approval", "path", "sentence"), [
    ({"rolse": ["admin"]}, "approval.rolse", "is not a known key"),
    ({"roles": []}, "approval.roles", "must not be empty"),
    ({"roles": ["boss"]}, "approval.roles[0]", "must be one of"),
])
def test_a_bad_approval_block_is_refused_with_its_path(approval, path, sentence):
    doc = _attendance()
    doc["transitions"][2]["approval"] = approval

    with pytest.raises(schema.DocumentInvalid) as refused:
        schema.check_type("attendance", doc)

    found = refused.value.fields
    key = f"types.attendance.transitions[2].{path}"
    assert key in found and found[key].startswith(sentence), found

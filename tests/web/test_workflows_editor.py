"""The rule and cascade editor: typed forms swapped in place by HTMX, checks before saving,
a dry check against current entities, optimistic versions, and an audit row with a diff."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import load_packs, make_entity
from tests.helpers import csrf_token
from webapp.core.base.actor import Actor
from webapp.core.base.errors import PermissionDenied, RuleViolation
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import AuditEntry, WorkflowDefinition

HTMX = {"HX-Request": "true"}
SUPPORT = Actor("sam", "support")
HOLD = "/workflows/property/transitions/hold"


@pytest.fixture
def manager(app):
    StateManager.reset_instance()
    with app.app_context():  # closed again: each request must open its own context
        loaded = load_packs(db.session)
    yield loaded
    StateManager.reset_instance()


@pytest.fixture
def editor(manager, login_as):
    """A config editor's browser."""
    return login_as("config_editor")


def version(app, entity_type: str = "property") -> int:
    with app.app_context():
        return db.session.scalar(select(WorkflowDefinition.version)
                                 .where(WorkflowDefinition.entity_type == entity_type))


def rules_of(app, entity_type: str, transition: str) -> list[dict]:
    with app.app_context():
        doc = db.session.scalar(select(WorkflowDefinition.definition)
                                .where(WorkflowDefinition.entity_type == entity_type))
    return next(t for t in doc["transitions"] if t["name"] == transition).get("rules", [])


def post(browser, url: str, page_url: str = HOLD, htmx: bool = True, **form: object):
    """Submit a form of the editor page as the browser does (HTMX sends the header)."""
    page = browser.get(page_url).text
    data = {"csrf_token": csrf_token(page),
            "version": re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)}
    data |= {k: v if isinstance(v, list) else str(v) for k, v in form.items()}
    return browser.post(url, data=data, headers=HTMX if htmx else {})


def add_min_age(browser, days: object = 30, intent: str = "save"):
    return post(browser, HOLD + "/rules", kind="min_age", p_days=days, intent=intent)


def make_property(app, manager):
    with app.app_context():
        return make_entity(manager, db.session, SUPPORT, "property").id


# --------------------------------------------------------------------------- rules

def test_choosing_a_kind_swaps_in_a_form_typed_from_its_parameters(editor):
    response = editor.get(HOLD + "?add=no_related_in_states", headers=HTMX)

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="editor"')  # the panel alone
    assert "New rule: No related entities in states" in response.text
    assert 'name="p_path"' in response.text and 'name="p_states"' in response.text
    assert "Comma-separated" in response.text


def test_a_rule_with_bad_parameters_shows_its_errors_in_place_and_saves_nothing(app, editor):
    before = version(app)

    not_a_number = add_min_age(editor, "soon")
    negative = add_min_age(editor, -3)
    wrong_path = post(editor, HOLD + "/rules", kind="no_related_in_states",
                      p_path="sales_rep", p_states="active", intent="save")

    assert not_a_number.status_code == negative.status_code == wrong_path.status_code == 422
    assert "Enter a whole number, e.g. 30." in not_a_number.text
    assert "Must not be negative." in negative.text
    assert "A sales rep is not a child of a property." in wrong_path.text
    assert 'class="field has-error"' in wrong_path.text
    assert version(app) == before and rules_of(app, "property", "hold") == []


def test_a_rule_naming_a_state_the_related_type_lacks_is_refused(app, manager, login_as):
    admin = login_as("admin")
    url = "/workflows/builder/transitions/suspend"

    response = post(admin, url + "/rules", url, kind="no_related_in_states",
                    p_path="community, property", p_states="under_contract, haunted")

    assert response.status_code == 422
    assert "Property has no state haunted." in response.text
    assert rules_of(app, "builder", "suspend") == []


def test_a_min_age_rule_added_in_the_editor_then_blocks_the_transition(app, manager, editor):
    entity_id = make_property(app, manager)

    response = add_min_age(editor, 30)

    assert response.status_code == 200
    assert "Saved (version 2)." in response.text
    assert "Only once it is at least 30 days old." in response.text
    assert rules_of(app, "property", "hold") == [{"kind": "min_age", "params": {"days": 30}}]
    with app.app_context(), pytest.raises(RuleViolation, match="must be at least 30 days old"):
        StateManager.get_instance().transition(db.session, SUPPORT, entity_id, "pending")


def test_check_shows_static_checks_and_how_many_entities_it_would_block_without_saving(
        app, manager, editor):
    for _ in range(3):
        make_property(app, manager)

    response = add_min_age(editor, 30, intent="check")

    assert response.status_code == 200
    assert "Static checks pass" in response.text
    text = re.sub(r"\s+", " ", response.text)
    assert "this rule would block <strong>3</strong> of the 3 properties now in available" in text
    assert "is 0 days old; it must be at least 30 days old to hold." in text
    assert version(app) == 1 and rules_of(app, "property", "hold") == []


def test_check_of_a_rule_that_blocks_nobody_says_so(app, manager, editor):
    response = add_min_age(editor, 0, intent="check")

    assert "no properties are in available right now, so it would block nothing" in \
        re.sub(r"\s+", " ", response.text)


def test_editing_a_rule_fills_its_form_and_saves_the_change(app, manager, login_as):
    admin = login_as("admin")
    url = "/workflows/work_order/transitions/approve"

    form = admin.get(url + "?edit=0", headers=HTMX).text
    response = post(admin, url + "/rules/0", url, p_fields=["vendor", "site"], intent="save")

    assert 'value="vendor"' in form
    assert response.status_code == 200
    assert "Needs data.vendor and data.site filled in." in response.text
    assert rules_of(app, "work_order", "approve") == [
        {"kind": "required_fields", "params": {"fields": ["vendor", "site"]}}]


def test_removing_a_rule_lets_the_move_through_again(app, manager, login_as):
    admin = login_as("admin")
    url = "/workflows/builder/transitions/deactivate"
    with app.app_context():
        builder = make_entity(manager, db.session, SUPPORT, "builder").id

    response = post(admin, url + "/rules/0/delete", url)

    assert response.status_code == 200
    assert "No rules yet" in response.text
    with app.app_context():
        outcome = StateManager.get_instance().transition(db.session, SUPPORT, builder, "inactive")
        assert outcome.entity.status == "inactive"


def test_a_field_condition_takes_a_value_of_any_type(app, manager, login_as):
    admin = login_as("admin")
    url = "/workflows/ticket/transitions/close"

    response = post(admin, url + "/rules", url, kind="field_condition", p_field="priority",
                    p_op="in", p_value="HIGH, CRITICAL", message="Only urgent tickets close.")

    assert response.status_code == 200
    assert rules_of(app, "ticket", "close") == [{
        "kind": "field_condition", "params": {"field": "priority", "op": "in",
                                              "value": ["HIGH", "CRITICAL"]},
        "message": "Only urgent tickets close."}]


def test_without_htmx_a_saved_rule_redirects_back_to_the_editor_with_a_message(app, editor):
    response = post(editor, HOLD + "/rules", htmx=False, kind="min_age", p_days=5, intent="save")

    assert response.status_code == 302
    assert response.headers["Location"] == HOLD
    assert "Saved (version 2)." in editor.get(HOLD).text


# ------------------------------------------------------------------ versions and audit

def test_saving_a_form_made_from_an_older_version_is_refused_as_a_conflict(app, manager, login_as):
    first, second = login_as("admin"), login_as("config_editor")
    stale_page = second.get(HOLD).text
    assert add_min_age(first, 30).status_code == 200

    response = second.post(HOLD + "/rules", headers=HTMX, data={
        "csrf_token": csrf_token(stale_page), "version": 1, "kind": "min_age", "p_days": 60,
        "intent": "save"})

    assert response.status_code == 409
    assert "Changed meanwhile." in response.text
    assert "your change was not saved" in response.text
    assert 'value="60"' in response.text  # the change is still in the form, ready to retry
    assert 'name="version" type="hidden" value="2"' in response.text
    assert rules_of(app, "property", "hold") == [{"kind": "min_age", "params": {"days": 30}}]


def test_every_save_writes_an_audit_row_with_the_diff_of_what_changed(app, manager, editor):
    add_min_age(editor, 30)

    with app.app_context():
        row = db.session.scalars(select(AuditEntry).where(
            AuditEntry.event_type == "workflow.update")).one()
    assert (row.object_type, row.object_id, row.actor[:13]) == ("workflow", "property",
                                                                "config_editor")
    assert row.message == "Rule “Only once it is at least 30 days old.” added to hold."
    assert list(row.diff["before"]) == list(row.diff["after"]) == ["transition hold"]
    assert "rules" not in row.diff["before"]["transition hold"]
    assert row.diff["after"]["transition hold"]["rules"] == [
        {"kind": "min_age", "params": {"days": 30}}]


# ------------------------------------------------------------------- transition options

def test_narrowing_a_transition_to_admins_refuses_support(app, manager, login_as):
    admin = login_as("admin")
    entity_id = make_property(app, manager)

    response = post(admin, HOLD + "/options", roles="admin", comment_required="y")

    assert response.status_code == 200
    page = admin.get("/workflows/property").text
    assert re.search(r"<code>hold</code>.*?<td>admin</td>\s*<td>required</td>", page, re.DOTALL)
    with app.app_context(), pytest.raises(PermissionDenied, match="Only admin may hold"):
        StateManager.get_instance().transition(db.session, SUPPORT, entity_id, "pending",
                                               reason="why not")


def test_a_role_that_cannot_operate_is_not_offered(app, manager, editor):
    response = post(editor, HOLD + "/options", roles="auditor")

    assert response.status_code == 422
    assert "not a valid choice" in response.text
    assert version(app) == 1


# ------------------------------------------------------------------------------ cascades

BUILDER = "/workflows/builder"


def test_a_cascade_can_be_checked_added_and_removed(app, manager, login_as):
    admin = login_as("admin")
    cascade = {"on_enter": "suspended", "path": "sales_rep", "from_states": "active",
               "to": "inactive"}

    checked = post(admin, BUILDER + "/cascades", BUILDER, intent="check", **cascade)
    added = post(admin, BUILDER + "/cascades", BUILDER, intent="save", **cascade)

    said = "When a builder enters suspended, its sales reps that are active move to inactive."
    assert checked.status_code == 200 and "Static checks pass" in checked.text
    assert added.status_code == 200
    assert added.text.lstrip().startswith('<section class="card" id="cascades"')  # the card
    assert said in added.text
    removed = post(admin, BUILDER + "/cascades/2/delete", BUILDER)
    assert removed.status_code == 200
    assert f"Cascade removed: {said}" in removed.text
    assert said not in removed.text.split('<ol class="wf-rules">')[1]
    assert version(app, "builder") == 3


def test_a_cascade_to_a_state_the_related_type_lacks_is_refused_in_place(app, manager, editor):
    response = post(editor, BUILDER + "/cascades", BUILDER, on_enter="suspended",
                    path="sales_rep", from_states="active, dormant", to="retired",
                    intent="save")

    assert response.status_code == 422
    assert "Sales rep has no state dormant." in response.text
    assert "Sales rep has no state &#39;retired&#39;." in response.text
    assert version(app, "builder") == 1


def test_a_cascade_added_in_the_editor_runs_on_the_next_change(app, manager, login_as):
    admin = login_as("admin")
    post(admin, BUILDER + "/cascades", BUILDER, on_enter="suspended", path="sales_rep",
         from_states="active", to="inactive", intent="save")
    with app.app_context():
        builder = make_entity(manager, db.session, SUPPORT, "builder")
        rep = make_entity(manager, db.session, SUPPORT, "sales_rep", parent_id=builder.id)

        outcome = StateManager.get_instance().transition(db.session, SUPPORT, builder.id,
                                                         "suspended")

        assert outcome.cascaded == [rep.id]

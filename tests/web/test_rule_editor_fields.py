"""The rule editor offers a type's declared fields by name: checkboxes for the fields a rule
requires, selects of the right kind (locations for a geofence), free text for a type that
declares no fields; a rule naming a field the type does not declare is refused in place."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import load_packs
from tests.helpers import csrf_token
from webapp.core.base.actor import SYSTEM
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import WorkflowDefinition

HTMX = {"HX-Request": "true"}
APPROVE_ORDER = "/workflows/work_order/transitions/approve"
APPROVE_SHEET = "/workflows/attendance/transitions/approve"


@pytest.fixture
def manager(app):
    StateManager.reset_instance()
    with app.app_context():
        loaded = load_packs(db.session)
    yield loaded
    StateManager.reset_instance()


@pytest.fixture
def editor(manager, login_as):
    return login_as("config_editor")


def options(html: str, name: str) -> list[str]:
    """The values offered by the select (or the checkboxes) named ``name``."""
    select_ = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.DOTALL)
    if select_:
        return re.findall(r'<option[^>]*value="([^"]*)"', select_.group(1))
    return re.findall(rf'<input[^>]*name="{name}"[^>]*type="checkbox"[^>]*value="([^"]*)"', html) \
        or re.findall(rf'<input[^>]*type="checkbox"[^>]*name="{name}"[^>]*value="([^"]*)"', html)


def submit(browser, page_url: str, action: str, **form: object):
    """Post a rule form as the browser does; a list value is sent as repeated fields."""
    page = browser.get(page_url).text
    data: dict[str, object] = {
        "csrf_token": csrf_token(page),
        "version": re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)}
    data |= form
    return browser.post(page_url + action, data=data, headers=HTMX)


def rules_of(app, entity_type: str, transition: str) -> list[dict]:
    with app.app_context():
        doc = db.session.scalar(select(WorkflowDefinition.definition)
                                .where(WorkflowDefinition.entity_type == entity_type))
    return next(t for t in doc["transitions"] if t["name"] == transition).get("rules", [])


def test_required_fields_offers_the_types_declared_fields_as_checkboxes(app, manager, editor):
    with app.app_context():
        declared = list(manager.workflow(db.session, "work_order").fields)

    html = editor.get(APPROVE_ORDER + "?add=required_fields", headers=HTMX).text

    assert options(html, "p_fields") == declared
    assert {"vendor", "line_items"} <= set(declared)
    assert "Line items (line_items)" in html
    assert not re.search(r'<input[^>]*name="p_fields"[^>]*type="text"', html)


def test_a_geofence_offers_only_the_types_location_fields_and_distance_settings(editor):
    html = editor.get(APPROVE_SHEET + "?add=geofence", headers=HTMX).text

    assert "New rule: Within a distance of a place" in html
    assert options(html, "p_field") == ["site_location", "check_in_location"]
    assert options(html, "p_center_field") == ["site_location", "check_in_location"]
    assert options(html, "p_meters_setting") == ["attendance_geofence_meters"]


def test_the_packs_geofence_opens_with_its_fields_chosen(editor):
    html = editor.get(APPROVE_SHEET + "?edit=1", headers=HTMX).text

    assert re.search(r'<option selected value="check_in_location"|'
                     r'<option[^>]*value="check_in_location"[^>]*selected', html)
    assert re.search(r'<option selected value="site_location"|'
                     r'<option[^>]*value="site_location"[^>]*selected', html)


def test_a_geofence_chosen_from_the_selects_is_saved(app, editor):
    response = submit(editor, APPROVE_SHEET, "/rules", kind="geofence",
                      p_field="check_in_location", p_center_field="site_location",
                      p_meters_setting="attendance_geofence_meters", intent="save")

    assert response.status_code == 200, response.text
    assert "Saved (version 2)." in response.text
    assert rules_of(app, "attendance", "approve")[-1] == {"kind": "geofence", "params": {
        "field": "check_in_location", "center_field": "site_location",
        "meters_setting": "attendance_geofence_meters"}}


def test_required_fields_ticked_in_the_form_are_saved_as_a_list(app, editor):
    response = submit(editor, APPROVE_ORDER, "/rules/0", p_fields=["vendor", "priority"],
                      intent="save")

    assert response.status_code == 200, response.text
    assert rules_of(app, "work_order", "approve") == [
        {"kind": "required_fields", "params": {"fields": ["vendor", "priority"]}}]


def test_a_field_of_the_wrong_kind_is_refused_and_nothing_saved(app, editor):
    response = submit(editor, APPROVE_SHEET, "/rules", kind="geofence", p_field="hours",
                      p_center_field="site_location",
                      p_meters_setting="attendance_geofence_meters", intent="save")

    assert response.status_code == 422
    assert 'class="field has-error"' in response.text
    assert len(rules_of(app, "attendance", "approve")) == 2


def test_a_type_with_no_location_fields_says_so_on_the_geofence_form(editor):
    html = editor.get(APPROVE_ORDER + "?add=geofence", headers=HTMX).text

    assert options(html, "p_field") == []
    assert "This type declares no location fields." in html


def test_a_type_without_declared_fields_takes_field_names_as_text(app, manager, editor):
    doc = {"pack": "custom", "types": {"errand": {
        "initial": "open", "states": {"open": {}, "DONE": {"terminal": True, "category": "closed"}},
        "transitions": [{"name": "finish", "from": "open", "to": "DONE"}]}}}
    with app.app_context(), write_transaction(db.session):
        packs.import_document(db.session, manager.workflows, doc, SYSTEM, manager.clock())

    html = editor.get("/workflows/errand/transitions/finish?add=required_fields", headers=HTMX).text

    assert re.search(r'<input[^>]*name="p_fields"[^>]*type="text"|'
                     r'<input[^>]*type="text"[^>]*name="p_fields"', html)
    assert "Comma-separated" in html


def test_a_saved_rule_naming_an_undeclared_field_shows_it_and_is_refused_on_save(
        app, manager, editor):
    with app.app_context(), write_transaction(db.session):
        # As stored before the type declared its fields (the checks of today never let it in).
        row = db.session.scalar(select(WorkflowDefinition)
                                .where(WorkflowDefinition.entity_type == "work_order"))
        doc = dict(row.definition)
        doc["transitions"] = [t | {"rules": [{"kind": "required_fields",
                                              "params": {"fields": ["purchase_order"]}}]}
                              if t["name"] == "approve" else t for t in doc["transitions"]]
        row.definition = doc
    manager.workflows.invalidate()

    form = editor.get(APPROVE_ORDER + "?edit=0", headers=HTMX).text
    response = submit(editor, APPROVE_ORDER, "/rules/0", p_fields=["purchase_order"],
                      intent="save")

    assert "purchase_order (not declared)" in form
    assert response.status_code == 422
    assert "Names &#39;purchase_order&#39;, which is not a declared field." in response.text


def test_the_transition_page_lists_the_packs_geofence_and_offers_the_kind(editor):
    page = editor.get(APPROVE_SHEET)

    assert page.status_code == 200
    assert "Within a distance of a place" in page.text
    assert '<option value="geofence">Within a distance of a place</option>' in page.text

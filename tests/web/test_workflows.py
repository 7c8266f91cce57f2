"""The workflow pages: the list, one workflow with its diagram and tables, export and import,
and who may reach the editor."""
from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import select

from tests.factories import load_packs
from tests.helpers import csrf_token
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import ROLES, AuditEntry, WorkflowDefinition

EDITORS = ("admin", "config_editor")
READERS = ("support", "auditor")


@pytest.fixture
def packs_loaded(app):
    """The built-in packs in the app's database, read by a fresh process StateManager."""
    StateManager.reset_instance()
    with app.app_context():
        load_packs(db.session)
    yield
    StateManager.reset_instance()


def definition(app, entity_type: str) -> WorkflowDefinition:
    with app.app_context():
        row = db.session.scalar(select(WorkflowDefinition)
                                .where(WorkflowDefinition.entity_type == entity_type))
        db.session.expunge(row)
        return row


def audit_rows(app, event_type: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.event_type == event_type)
                                  .order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return rows


# ------------------------------------------------------------------------- reading

@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_entity_types_grouped_by_pack(packs_loaded, login_as, role):
    page = login_as(role).get("/workflows/").text

    for pack in ("Real estate", "Facilities", "Accounts"):
        assert f"{pack} <span class=\"muted\">pack</span>" in page
    assert page.index("Real estate") < page.index("Facilities") < page.index("Accounts")
    row = re.search(r"Work order</a>.*?</tr>", page, re.DOTALL).group(0)
    assert re.findall(r'class="num">(\d+)<', row)[:2] == ["8", "7"]  # states, transitions
    assert ("Import a workflow file" in page) is (role in EDITORS)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_diagram_states_and_transitions_of_a_workflow(
        packs_loaded, login_as, role):
    page = login_as(role).get("/workflows/work_order").text

    svg = re.search(r"<svg class=\"wf-diagram.*?</svg>", page, re.DOTALL).group(0)
    assert svg.count('class="wf-node ') == 8
    assert svg.count("terminal") >= 3  # CLOSED, CANCELLED and REJECTED have double borders
    assert ">complete</text>" in svg and ">cancel</text>" in svg
    assert "Needs data.vendor filled in." in page
    assert re.search(r"<code>reject</code>.*?required", page, re.DOTALL)
    assert ('aria-label="Edit approve"' in page) is (role in EDITORS)
    assert ("Add a cascade" in page) is False  # work orders have no related entities


def test_the_workflow_page_says_cascades_derived_statuses_and_the_sweep_in_words(
        packs_loaded, admin_client):
    builder = admin_client.get("/workflows/builder").text
    community = admin_client.get("/workflows/community").text

    assert ("When a builder enters out_of_business, its properties (through its communities) "
            "that are available, pending or reserved move to off_market.") in builder
    assert "Not while any of its properties (through its communities) is under_contract." in builder
    assert "Only once it is at least 30 days old." in builder
    assert "no activity for 90 days (setting builder_grace_period) moves to inactive" in builder
    assert "becomes sold_out when at most 0 properties are available" in community
    assert "at most 10 (setting community_limited_availability_threshold)" in community


def test_an_unknown_entity_type_is_a_not_found_page(packs_loaded, admin_client):
    response = admin_client.get("/workflows/spaceship")

    assert response.status_code == 404
    assert "Not found" in response.text


def test_with_no_workflows_loaded_the_list_says_how_to_load_them(app, login_as):
    StateManager.reset_instance()
    page = login_as("auditor").get("/workflows/").text

    assert "No workflows are loaded yet" in page


# ---------------------------------------------------------------------- export, import

def test_export_downloads_the_same_file_as_the_command_line(app, packs_loaded, login_as):
    response = login_as("auditor").get("/workflows/property/export")
    cli = app.test_cli_runner().invoke(args=["workflows", "export", "property"])

    assert response.status_code == 200
    assert (response.headers["Content-Disposition"]
            == 'attachment; filename="property.workflow.json"')
    assert response.json == json.loads(cli.output)
    assert response.json["types"]["property"]["initial"] == "available"


def upload(client, content: bytes, name: str = "workflow.json"):
    token = csrf_token(client.get("/workflows/import").text)
    return client.post("/workflows/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(content), name)})


def test_an_exported_file_imports_back_unchanged(app, packs_loaded, admin_client):
    before = definition(app, "work_order")
    exported = admin_client.get("/workflows/work_order/export").data

    response = upload(admin_client, exported)

    assert response.status_code == 302
    assert response.headers["Location"] == "/workflows/work_order"
    after = definition(app, "work_order")
    assert after.definition == before.definition
    assert after.version == before.version + 1
    assert audit_rows(app, "workflow.import")[-1].object_id == "work_order"
    assert "Imported the workflow for work_order" in admin_client.get("/workflows/work_order").text


def broken_ticket(app) -> bytes:
    doc = {"pack": "facilities", "types": {"ticket": json.loads(json.dumps(
        definition(app, "ticket").definition))}}
    ticket = doc["types"]["ticket"]
    ticket["states"]["ARCHIVED"] = {"category": "closed"}  # nothing leads there; no way out
    ticket["transitions"][0]["rules"] = [{"kind": "cutoff_day", "params": {"setting": "no_such_setting"}}]
    ticket["transitions"].append({"name": "vanish", "from": ["NEW"], "to": "GONE"})
    return json.dumps(doc).encode()


def test_importing_a_broken_file_lists_its_problems_and_saves_nothing(app, packs_loaded,
                                                                       admin_client):
    before, imports = definition(app, "ticket"), len(audit_rows(app, "workflow.import"))

    response = upload(admin_client, broken_ticket(app))

    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert ("ticket: Transition &#39;vanish&#39; names unknown state &#39;GONE&#39;."
            in response.text)
    after = definition(app, "ticket")
    assert (after.version, after.definition) == (before.version, before.definition)
    assert len(audit_rows(app, "workflow.import")) == imports


@pytest.mark.parametrize(("content", "complaint"), [
    (b"{not json", "It is not valid JSON"),
    (b'{"pack": "x"}', "It needs a non-empty &#34;types&#34; object"),
    (b"\xff\xfe\x00", "It is not UTF-8 text"),
    (b'{"types": {"Bad Name!": {}}}', "a type name is lower-case letters"),
])
def test_a_file_that_is_not_a_workflow_is_refused_with_the_reason(packs_loaded, admin_client,
                                                                   content, complaint):
    response = upload(admin_client, content)

    assert response.status_code == 422
    assert complaint in response.text


def test_importing_without_choosing_a_file_asks_for_one(packs_loaded, admin_client):
    token = csrf_token(admin_client.get("/workflows/import").text)

    response = admin_client.post("/workflows/import", data={"csrf_token": token})

    assert response.status_code == 422
    assert "Choose a file to import." in response.text


def test_a_workflow_can_be_imported_that_fixes_the_problem_it_had(app, packs_loaded, admin_client):
    doc = json.loads(admin_client.get("/workflows/ticket/export").data)
    doc["types"]["ticket"]["states"]["ARCHIVED"] = {"category": "closed", "terminal": True}
    doc["types"]["ticket"]["transitions"].append(
        {"name": "archive", "from": ["CLOSED"], "to": "ARCHIVED"})

    response = upload(admin_client, json.dumps(doc).encode())

    assert response.status_code == 422  # CLOSED is terminal: no way out of it
    assert "State &#39;CLOSED&#39; is terminal but has transitions out of it." in response.text
    doc["types"]["ticket"]["transitions"][-1]["from"] = ["RESOLVED"]
    assert upload(admin_client, json.dumps(doc).encode()).status_code == 302
    assert "ARCHIVED" in definition(app, "ticket").definition["states"]


# ------------------------------------------------------------------------ who may edit

EDITOR_GETS = ["/workflows/import", "/workflows/property/transitions/hold",
               "/workflows/property/transitions/hold?add=min_age"]
EDITOR_POSTS = ["/workflows/import", "/workflows/property/transitions/hold/rules",
                "/workflows/property/transitions/hold/rules/0",
                "/workflows/property/transitions/hold/rules/0/delete",
                "/workflows/property/transitions/hold/options",
                "/workflows/builder/cascades", "/workflows/builder/cascades/0/delete"]


@pytest.mark.parametrize("role", READERS)
def test_support_and_auditors_may_not_open_or_use_the_editor(app, packs_loaded, login_as, role):
    browser = login_as(role)
    token = csrf_token(browser.get("/").text)
    before = definition(app, "property").version

    for url in EDITOR_GETS:
        assert browser.get(url).status_code == 403, url
    for url in EDITOR_POSTS:
        response = browser.post(url, data={"csrf_token": token, "version": before,
                                           "kind": "min_age", "p_days": "3"})
        assert response.status_code == 403, url

    assert definition(app, "property").version == before
    denials = audit_rows(app, "permission.denied")
    assert len(denials) == len(EDITOR_GETS) + len(EDITOR_POSTS)
    assert "Edit" not in re.findall(r"<a class=\"button small\"[^>]*>(\w+)</a>",
                                    browser.get("/workflows/property").text)


@pytest.mark.parametrize("role", EDITORS)
def test_admins_and_config_editors_open_the_editor(packs_loaded, login_as, role):
    response = login_as(role).get("/workflows/property/transitions/hold")

    assert response.status_code == 200
    assert "Edit transition <code>hold</code>" in response.text
    assert "Add rule…" in response.text


def test_an_editor_post_without_its_csrf_token_is_refused(app, packs_loaded, admin_client):
    before = definition(app, "property").version

    response = admin_client.post("/workflows/property/transitions/hold/rules",
                                 data={"version": before, "kind": "min_age", "p_days": "3",
                                       "intent": "save"})

    assert response.status_code == 400
    assert "Reload the page and try again." in response.text
    assert definition(app, "property").version == before

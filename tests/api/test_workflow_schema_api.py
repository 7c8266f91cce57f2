"""GET /api/v1/schemas/workflow.json (CONTRACT §7), and a misspelt key refused with its path
through every way a workflow file comes in: the command line and the import page."""
from __future__ import annotations

import copy
import io
import json
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import load_packs, make_token, make_user
from tests.helpers import csrf_token
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import registry
from webapp.extensions import db
from webapp.models import ROLES, WorkflowDefinition

URL = "/api/v1/schemas/workflow.json"
ROLSE = "types.ticket.transitions[2].rolse is not a known key."


@pytest.fixture
def packs_loaded(app: Flask):
    StateManager.reset_instance()
    with app.app_context():
        load_packs(db.session)
    yield
    StateManager.reset_instance()


def bearer(app: Flask, role: str) -> dict[str, str]:
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role=role))
    return {"Authorization": f"Bearer {token}"}


def published(app: Flask) -> dict[str, Any]:
    return app.test_client().get(URL, headers=bearer(app, "auditor")).json


def with_rolse() -> dict[str, Any]:
    doc = copy.deepcopy(registry.load_pack("facilities"))
    doc["types"]["ticket"]["transitions"][2]["rolse"] = ["admin"]
    return doc


def ticket(app: Flask) -> tuple[int, dict[str, Any]]:
    with app.app_context():
        row = db.session.scalar(select(WorkflowDefinition)
                                .where(WorkflowDefinition.entity_type == "ticket"))
        return row.version, row.definition


# ------------------------------------------------------------------------ the schema

@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_role_may_read_the_schema(app, role):
    response = app.test_client().get(URL, headers=bearer(app, role))

    assert response.status_code == 200
    body = response.json
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert body["$id"] == f"http://localhost{URL}"
    assert body["title"] == "Statekeeper workflow file"


def test_the_schema_is_not_given_to_anonymous_callers(app):
    response = app.test_client().get(URL)

    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_the_published_schema_is_a_json_schema_every_shipped_pack_fits(app):
    document = published(app)
    validator = jsonschema_rs.validator_for(document)

    assert jsonschema_rs.meta.is_valid(document)
    for pack in registry.PACKS:
        assert [e.message for e in validator.iter_errors(registry.load_pack(pack))] == [], pack


def test_the_published_schema_refuses_a_misspelt_key_and_a_misspelt_rule_param(app):
    validator = jsonschema_rs.validator_for(published(app))
    doc = with_rolse()

    errors = list(validator.iter_errors(doc))
    assert [list(e.instance_path) for e in errors] == [["types", "ticket", "transitions", 2]]
    assert "rolse" in errors[0].message

    del doc["types"]["ticket"]["transitions"][2]["rolse"]
    doc["types"]["ticket"]["transitions"][2]["rules"] = [
        {"kind": "min_age", "params": {"dayz": 30}}]
    assert not validator.is_valid(doc)
    doc["types"]["ticket"]["transitions"][2]["rules"][0]["params"] = {"days": 30}
    assert validator.is_valid(doc)


def test_every_exported_type_fits_the_published_schema(app, packs_loaded, login_as):
    browser = login_as("auditor")
    validator = jsonschema_rs.validator_for(published(app))

    for pack in registry.PACKS:
        for entity_type in registry.load_pack(pack)["types"]:
            exported = browser.get(f"/workflows/{entity_type}/export").json
            assert validator.is_valid(exported), entity_type


def test_the_openapi_document_lists_the_schema_route(app):
    paths = app.test_client().get("/api/openapi.json").json["paths"]

    assert "200" in paths["/schemas/workflow.json"]["get"]["responses"]


# -------------------------------------------------------- refused where files come in

def test_the_command_line_import_refuses_a_misspelt_key_with_its_path(app, packs_loaded,
                                                                      tmp_path):
    before = ticket(app)
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps(with_rolse()))

    result = app.test_cli_runner().invoke(args=["workflows", "import", str(path)])

    assert result.exit_code == 1
    assert "Nothing was imported" in result.output
    assert ROLSE in result.output.splitlines()
    assert ticket(app) == before


def upload(client, doc: dict[str, Any]):
    token = csrf_token(client.get("/workflows/import").text)
    return client.post("/workflows/import", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(json.dumps(doc).encode()), "ticket.json")})


def test_the_import_page_refuses_a_misspelt_key_with_its_path(app, packs_loaded,
                                                              admin_client):
    before = ticket(app)

    response = upload(admin_client, with_rolse())

    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert ROLSE in response.text
    assert ticket(app) == before


def test_the_import_page_refuses_a_misspelt_key_at_the_top_of_the_file(app, packs_loaded,
                                                                       admin_client):
    doc = copy.deepcopy(registry.load_pack("facilities"))
    doc["descripton"] = doc.pop("description")

    response = upload(admin_client, doc)

    assert response.status_code == 422
    assert "<li>descripton is not a known key.</li>" in response.text


def test_the_import_page_points_to_the_published_schema(packs_loaded, admin_client):
    page = admin_client.get("/workflows/import").text

    assert f'href="{URL}"' in page

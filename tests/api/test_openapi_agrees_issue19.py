"""The OpenAPI document says what the server accepts, no looser and no stricter (issue 19):
ids are 1 or more, ``to`` and ``target_state`` are never empty, and an optional query value
sent empty (``?limit=``), which every route takes as not sent, is documented as allowed."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import load_packs, make_token, make_user
from webapp.core.base.actor import SYSTEM
from webapp.core.base.errors import ID_MAX
from webapp.extensions import db

METHODS = ("get", "post", "patch", "put", "delete")


@pytest.fixture
def seeded(app) -> Iterator[dict[str, Any]]:
    """A ticket (id in "entity"), an admin token, and the app's document."""
    with app.app_context():
        sm = load_packs(db.session)
        entity = sm.create_entity(db.session, SYSTEM, type="ticket", name="Printer",
                                  data={"priority": "LOW"})
        token = make_token(db.session, make_user(db.session, role="admin"))
        entity_id = entity.id
    client = app.test_client()
    yield {"client": client, "auth": {"Authorization": f"Bearer {token}"}, "entity": entity_id,
           "doc": client.get("/api/openapi.json").json}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], list[dict]]]:
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                yield path, method, item[method], shared + item[method].get("parameters", [])


def walk(schema: Any, name: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (property name, schema) inside a schema, arrays' items under their array's name."""
    if not isinstance(schema, dict):
        return
    yield name, schema
    for key, sub in (schema.get("properties") or {}).items():
        yield from walk(sub, key)
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], name)


def _url(path: str, entity_id: int) -> str:
    return "/api/v1" + re.sub(r"\{[^}]+\}", str(entity_id), path)


def test_every_id_the_document_names_is_a_row_id_from_1(seeded):
    ids = []
    for _path, _method, op, params in operations(seeded["doc"]):
        ids += [p["schema"] for p in params if p["name"].endswith("id")
                and p["schema"].get("type") == "integer"]
        for content in (op.get("requestBody") or {}).get("content", {}).values():
            ids += [s for name, s in walk(content["schema"]) if re.fullmatch(r"(\w+_)?ids?", name)
                    and s.get("type") == "integer"]

    assert ids
    assert all((s.get("minimum"), s.get("maximum")) == (1, ID_MAX) for s in ids), ids


def test_the_server_refuses_the_ids_the_document_refuses(seeded):
    client, auth = seeded["client"], seeded["auth"]

    assert client.get("/api/v1/entities/0", headers=auth).status_code == 404
    assert client.get("/api/v1/entities?parent_id=0", headers=auth).status_code == 400
    assert client.post("/api/v1/bulk/assign", json={"ids": [0], "assignee": "Sam"},
                       headers=auth).status_code == 400


@pytest.mark.parametrize(("route", "name"), [("/entities/{entity_id}/transition", "to"),
                                             ("/bulk/transition", "target_state")])
def test_a_target_state_is_documented_and_served_as_never_empty(seeded, route, name):
    doc, client, auth = seeded["doc"], seeded["client"], seeded["auth"]
    schema = doc["paths"][route]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"][name]["minLength"] == 1
    body = {name: "", **({"ids": [seeded["entity"]]} if name == "target_state" else {})}

    answer = client.post(_url(route, seeded["entity"]), json=body, headers=auth)

    assert answer.status_code == 400 and name in answer.json["fields"]


def test_every_optional_query_value_sent_empty_is_documented_and_accepted(seeded):
    client, auth, entity = seeded["client"], seeded["auth"], seeded["entity"]
    checked = 0
    for path, method, _op, params in operations(seeded["doc"]):
        for p in params:
            if p["in"] != "query" or p.get("required"):
                continue
            assert p.get("allowEmptyValue") is True, f"{method} {path} ?{p['name']}="
            if method == "get":  # with the required ones given their documented examples
                needed = "".join(f"&{q['name']}={q['example']}" for q in params
                                 if q["in"] == "query" and q.get("required"))
                answer = client.get(f"{_url(path, entity)}?{p['name']}={needed}", headers=auth)
                assert answer.status_code == 200, f"{path}?{p['name']}=: {answer.json}"
                checked += 1

    assert checked >= 10

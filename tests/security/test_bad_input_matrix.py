"""Every route × every kind of hostile input, signed in as admin: no answer ≥ 500, nothing stored.

The kinds are those a black-box probe found (issue 19): a lone UTF-16 surrogate, JSON nested a
thousand levels deep (and a hundred: deep enough to hurt, shallow enough to parse), numbers of
thousands of digits, non-finite floats, dates at the ends of the calendar, over-long ids, digits
that are not ASCII. Each reaches every route the way a client can send it: JSON bodies (one
documented property at a time, on top of a body that would otherwise work), query strings, and
HTML forms (every input name the pages render, all at once, with a valid CSRF token), plus
uploaded files. The routes come from ``app.url_map``, so a new route is covered without being
listed here. Afterwards no table holds a surrogate, an over-deep value or an over-long number,
and every page of the entities involved still renders.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests.factories import load_packs, make_token, make_user
from tests.helpers import login
from webapp.core.base.actor import SYSTEM
from webapp.extensions import db
from webapp.models import Base, Entity, StatusChange

ROOT = Path(__file__).resolve().parents[2]
SURROGATE = "a\ud800b"
DEPTH_CRASH = 1000  # past Python's recursion limit
DEPTH_HURTS = 100  # parses, but far past any honest document
HUGE_DIGITS = 5000  # past Python's int/str conversion limit
LONG_DIGITS = 40  # converts, but fits no column
#: Values as JSON text: what a body property, a query value or a form input may carry.
JSON_POISONS = {
    "surrogate": json.dumps(SURROGATE),
    "surrogate key": json.dumps({SURROGATE: "v"}),
    "surrogate value": json.dumps({"k": SURROGATE}),
    "nul": json.dumps({"k": "a\x00b"}),
    "deep list": "[" * DEPTH_CRASH + "]" * DEPTH_CRASH,
    "deep object": '{"a":' * DEPTH_HURTS + "1" + "}" * DEPTH_HURTS,
    "deep in an object": '{"k": ' + "[" * DEPTH_HURTS + "]" * DEPTH_HURTS + "}",
    "huge integer": "9" * HUGE_DIGITS,
    "long integer": "9" * LONG_DIGITS,
    "past any id": "9" * 25,  # within the digits allowed, past every column's integers
    "huge in an object": '{"k": ' + "9" * HUGE_DIGITS + "}",
    "long float": "1" * LONG_DIGITS + ".5",
    "huge exponent": "1e999999",
    "nan": "NaN",
    "infinity": "-Infinity",
}
#: Values as plain text (a query value or a form input), next to the JSON ones above.
TEXT_POISONS = {
    "year one": "0001-01-01T00:00:00+05:00",
    "year one date": "0001-01-01",
    "end of time": "9999-12-31T23:59:59-05:00",
    "end of time date": "9999-12-31",
    "past the calendar": "99999-01-01",
    "superscript digit": "²",
    "long id": "9" * 20,
    "percent-encoded surrogate": "%ED%A0%80",
    "percent-encoded nul": "a%00b",
}
#: The poisons forms and query strings get (each request carries one in every input at once,
#: so the rest of the JSON kinds add time without adding a way in).
FORM_POISONS = ("surrogate", "nul", "percent-encoded nul", "deep list", "deep object",
                "huge integer", "huge in an object", "infinity", "past any id", "year one",
                "end of time", "superscript digit", "long id")
#: A JSON body that works on each documented route; a poison replaces one property at a time.
#: "{entity}", "{version}", "{change}" are filled in per request.
WORKING_BODIES = {
    ("POST", "/api/v1/entities"): {"type": "ticket", "name": "fine", "data": {"priority": "LOW"}},
    ("PATCH", "/api/v1/entities/{}"): {"version": "{version}", "name": "fine"},
    ("POST", "/api/v1/entities/{}/transition"): {"to": "OPEN", "reason": "fine"},
    ("POST", "/api/v1/entities/{}/activity"): {"note": "fine"},
    ("POST", "/api/v1/entities/{}/revert"): {"change_id": "{change}", "reason": "fine"},
    ("POST", "/api/v1/bulk/transition"): {"ids": ["{entity}"], "target_state": "OPEN"},
    ("POST", "/api/v1/bulk/assign"): {"ids": ["{entity}"], "assignee": "fine"},
    ("POST", "/api/v1/bulk/update"): {"ids": ["{entity}"], "update_data": {"description": "x"}},
    ("PATCH", "/api/v1/config"): {"sweep_interval_minutes": 30},
    ("POST", "/api/v1/sweeps/run"): {"dry_run": True},
}
#: Properties that hold a free-form object, poisoned inside as well as whole.
OBJECT_PROPERTIES = ("data", "update_data")
#: Not sent: it would end the session the matrix runs in.
SKIPPED = {"auth.logout"}
_NAME_ATTR = re.compile(r'\bname="([^"{}]+)"')
_READ_NAME = re.compile(r'(?:args|form)\.(?:get|getlist)\("([\w-]+)"')
_UPLOAD_FORM = re.compile(r'<form[^>]*enctype="multipart/form-data"[^>]*action="([^"]+)"')


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """Packs, an entity of every type, a history row, a second user, an admin token and a
    signed-in admin browser; the ids path arguments are filled with."""
    with app.app_context():
        manager = load_packs(db.session)
        entities = {t: manager.create_entity(db.session, SYSTEM, type=t, name=f"{t} one",
                                             data={"priority": "LOW"} if t == "ticket" else {}).id
                    for t in ("ticket", "property", "work_order")}
        change = db.session.scalar(select(StatusChange.id).order_by(StatusChange.id.desc()))
        admin = make_user(db.session, role="admin", username="matrix-admin")
        other = make_user(db.session, role="support", username="matrix-other")
        token = make_token(db.session, admin)
        ids = {"admin": admin.id, "other": other.id}
    browser = app.test_client()
    assert login(browser, "matrix-admin", "correct-horse-42").status_code == 302
    return {"entities": entities, "ticket": entities["ticket"], "change": change, "token": token,
            "browser": browser, "csrf": _page_csrf(browser.get("/").text), "other": ids["other"]}


def answer(client: FlaskClient, url: str, **options: Any) -> TestResponse:
    """The whole answer, its request context closed (a streamed page, a CSV export, keeps its
    context open until then, and the next request would run inside it). An exception that
    escapes even the error handlers counts as a 500."""
    try:
        response = client.open(url, **options)
    except Exception as exc:  # noqa: BLE001 - reported as the server error it would be
        return TestResponse([repr(exc).encode()], "599 ESCAPED", {}, None)
    response.get_data()
    response.close()
    return response


def _page_csrf(html: str) -> str:
    return json.loads(re.search(r"hx-headers='([^']+)'", html).group(1))["X-CSRFToken"]


def _arguments(world: dict[str, Any]) -> dict[str, Any]:
    """Real values for path arguments, so requests reach the code behind the lookup."""
    return {"entity_id": world["ticket"], "entity_type": "ticket", "name": "open",
            "user_id": world["other"], "change_id": world["change"]}


def routes(app: Flask, world: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(method, rule with "{}" for arguments, URL, endpoint) of every route."""
    known = _arguments(world)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in SKIPPED:
            continue
        url = rule.build({a: known.get(a, 999999) for a in rule.arguments}, append_unknown=False)[1]
        pattern = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, pattern, url, rule.endpoint


def page_inputs(app: Flask, world: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Every input name a page renders (settings keys, declared fields, hidden fields...), and
    the addresses its forms upload files to."""
    browser, names, uploads = world["browser"], set(), set()
    pages = [url for method, _, url, _ in routes(app, world)
             if method == "GET" and not url.startswith("/api/")]
    pages += [f"/bulk/new?ids={world['ticket']}",
              f"/entities/{world['ticket']}/revert?change_id={world['change']}"]
    for url in pages:
        response = answer(browser, url)
        if response.mimetype == "text/html":
            names |= set(_NAME_ATTR.findall(response.text))
            uploads |= set(_UPLOAD_FORM.findall(response.text))
    return (names | names_read()) - {"csrf_token", "viewport"}, uploads


def names_read() -> set[str]:
    """The query and form names the views read (``request.args.get("before")``...), rendered
    by a page or not."""
    return {match for path in (ROOT / "webapp").rglob("*.py")
            for match in _READ_NAME.findall(path.read_text())}


def documented(app: Flask) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """(method, /api/v1 pattern) -> (body properties, query parameters) from the OpenAPI
    document, so every documented input is poisoned."""
    document = app.test_client().get("/api/openapi.json").json
    schemas, found = document["components"]["schemas"], {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            schema = (operation.get("requestBody") or {}).get("content", {}).get(
                "application/json", {}).get("schema") or {}
            schema = schemas[schema["$ref"].split("/")[-1]] if "$ref" in schema else schema
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            pattern = "/api/v1" + re.sub(r"\{[^}]+\}", "{}", path)
            found[(method.upper(), pattern)] = (set(schema.get("properties", {})), query)
    return found


def _working_body(app: Flask, world: dict[str, Any], key: tuple[str, str]) -> dict[str, Any]:
    with app.app_context():
        version = db.session.get(Entity, world["ticket"]).version
    fill = {"{entity}": world["ticket"], "{version}": version, "{change}": world["change"]}
    text = json.dumps(WORKING_BODIES.get(key, {}))
    for marker, value in fill.items():
        text = text.replace(json.dumps(marker), json.dumps(value))
    return json.loads(text)


def poisoned_bodies(body: dict[str, Any], properties: set[str]) -> Iterator[tuple[str, bytes]]:
    """(label, raw JSON) with one property replaced (or, for objects, filled) by each poison."""
    for prop in sorted(properties | set(body)):
        for label, poison in JSON_POISONS.items():
            rest = {k: v for k, v in body.items() if k != prop}
            yield f"{prop}={label}", _with(rest, prop, poison)
            if prop in OBJECT_PROPERTIES:
                yield f"{prop}.k={label}", _with(rest, prop, '{"description": ' + poison + "}")
        for label, text in TEXT_POISONS.items():
            yield f"{prop}={label}", json.dumps({**body, prop: text}).encode()
    yield "whole body deep", JSON_POISONS["deep list"].encode()
    yield "raw surrogate bytes", b'{"name": "\xed\xa0\x80", "note": "\xed\xa0\x80"}'


def _with(rest: dict[str, Any], prop: str, raw_value: str) -> bytes:
    head = json.dumps(rest)[:-1]
    return f'{head}{", " if rest else ""}"{prop}": {raw_value}}}'.encode()


def every_value_poison() -> dict[str, str]:
    return {**JSON_POISONS, **TEXT_POISONS}


def send_api(app: Flask, world, method: str, url: str, pattern: str,
             inputs: tuple[set[str], set[str]]) -> Iterator[tuple[str, Any]]:
    headers = {"Authorization": f"Bearer {world['token']}"}
    client = app.test_client()
    properties, params = inputs
    for name in sorted(params):
        for label, value in every_value_poison().items():
            separator = "&" if "?" in url else "?"
            yield (f"?{name}={label}",
                   answer(client, f"{url}{separator}{name}={quote(value, safe='%')}",
                          method=method, headers=headers))
    if method == "GET":
        return
    body = _working_body(app, world, (method, pattern))
    for label, raw in poisoned_bodies(body, properties):
        yield label, answer(client, url, method=method, data=raw, headers=headers,
                            content_type="application/json")


def send_form(world, method: str, url: str, names: set[str],
              uploads: set[str]) -> Iterator[tuple[str, Any]]:
    """Each poison in every input name at once: in the query, and for a change in the form
    too (and as the file, where the page uploads one)."""
    browser, csrf = world["browser"], world["csrf"]
    headers = {"X-CSRFToken": csrf}
    for label in FORM_POISONS:
        value = every_value_poison()[label]
        query = "&".join(f"{n}={quote(value, safe='%')}" for n in sorted(names))
        if method == "GET":
            yield f"?all={label}", answer(browser, f"{url}?{query}")
            continue
        yield f"all={label}", answer(
            browser, f"{url}?{query}", method=method, data=f"csrf_token={csrf}&{query}".encode(),
            headers=headers, content_type="application/x-www-form-urlencoded")
        if url in uploads:
            yield f"file={label}", answer(
                browser, url, method=method, headers=headers, content_type="multipart/form-data",
                data={"csrf_token": csrf, "file": (BytesIO(value.encode()), "upload.json")})


def test_no_hostile_input_to_any_route_gets_a_server_error_or_is_stored(app, world):
    (names, uploads), api_inputs, failures = page_inputs(app, world), documented(app), []
    for method, pattern, url, _ in routes(app, world):
        if url.startswith("/api/"):
            answers = send_api(app, world, method, url, pattern,
                               api_inputs.get((method, pattern), (set(), set())))
        else:
            answers = send_form(world, method, url, names, uploads)
        failures += [f"{method} {url} [{label}]: {r.status_code} {r.text[:160]!r}"
                     for label, r in answers if r.status_code >= 500]

    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:60])
    assert poisoned_rows(app) == []
    broken = [f"{url}: {status}" for url, status in entity_pages(app, world) if status >= 500]
    assert broken == []


def poisoned_rows(app: Flask) -> list[str]:
    """Every stored value holding a surrogate or a NUL, a nesting deeper than 32 or a number
    longer than 30 digits, in any column of any table."""
    found = []
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(table.select()).mappings():
                found += [f"{table.name}.{column}" for column, value in row.items()
                          if _poisoned(value)]
    return found


def _poisoned(value: Any, depth: int = 0) -> bool:
    if depth > 32:
        return True
    if isinstance(value, str):
        return re.search("[\x00\ud800-\udfff]", value) is not None
    if isinstance(value, float):
        return not math.isfinite(value) or abs(value) >= 1e30
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) >= 10**30
    if isinstance(value, dict):
        return any(_poisoned(k, depth + 1) or _poisoned(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_poisoned(v, depth + 1) for v in value)
    return False


def entity_pages(app: Flask, world: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """Every page of every entity (a stored poison would break them all)."""
    with app.app_context():
        ids = db.session.scalars(select(Entity.id)).all()
    browser = world["browser"]
    for entity_id in ids:
        for suffix in ("", "/details", "/timeline", "/actions", "/revert"):
            url = f"/entities/{entity_id}{suffix}"
            yield url, answer(browser, url).status_code
    yield "/entities/", answer(browser, "/entities/").status_code

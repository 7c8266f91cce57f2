"""Sensitive fields end to end (CONTRACT §7): never in the database file or a PostgreSQL dump,
in full only for admin and support, masked for the other roles, the audit log and the CSV
export, absent from event payloads, re-encrypted by `keys rotate`, and an app without the key
still answers (with the values marked unreadable)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from tests.factories import make_token, make_user
from webapp.core.base.sealed import MASK
from webapp.core.base.transactions import write_transaction
from webapp.core.fields.secrets import UNREADABLE, key_id_of, new_key
from webapp.core.workflows import registry
from webapp.extensions import db

#: A type of the test's own, so that these guarantees do not hang on a pack's fields.
CONTACT = {
    "label": "Contact", "initial": "active",
    "fields": {"secret": {"type": "text", "sensitive": True},
               "phone": {"type": "phone", "sensitive": True},
               "note": {"type": "text"}},
    "states": {"active": {"category": "active"},
               "archived": {"category": "closed", "terminal": True}},
    "transitions": [{"name": "archive", "from": ["active"], "to": "archived"}],
}
SECRET, NEW_SECRET = "zebra-papaya-4711", "quokka-mango-0815"
PHONE = "+44 20 7946 0958"
Api = Callable[..., Any]


def install_contact(app: Flask) -> None:
    sm = app.extensions["state_manager"]
    with app.app_context(), write_transaction(db.session):
        registry.save(db.session, "contact", CONTACT, "test", "pytest", sm.clock(),
                      set(sm.workflows.all(db.session)))
    sm.workflows.invalidate()


def api_for(app: Flask) -> Callable[[str], Api]:
    """``api_for(app)("auditor")("get", "/entities/1")``: JSON API calls with a role's token."""
    client = app.test_client()

    def as_role(role: str) -> Api:
        with app.app_context():
            token = make_token(db.session, make_user(db.session, role=role))

        def call(method: str, path: str, **kwargs: Any) -> Any:
            return client.open(f"/api/v1{path}", method=method.upper(),
                               headers={"Authorization": f"Bearer {token}"}, **kwargs)
        return call
    return as_role


def create_contact(admin: Api) -> dict[str, Any]:
    """A contact made, edited and moved through the API: every write path a person uses."""
    made = admin("post", "/entities", json={"type": "contact", "name": "Ann",
                                            "data": {"secret": SECRET, "phone": PHONE}})
    assert made.status_code == 201, made.json
    edited = admin("patch", f"/entities/{made.json['id']}",
                   json={"version": made.json["version"], "data": {"note": "called"}})
    assert edited.status_code == 200, edited.json
    moved = admin("patch", f"/entities/{made.json['id']}",
                  json={"version": edited.json["version"], "data": {"secret": NEW_SECRET}})
    assert moved.status_code == 200, moved.json
    return moved.json


def plaintexts(entity: dict[str, Any]) -> list[str]:
    """Every sensitive value the contact ever held, as submitted and as stored."""
    return sorted({SECRET, NEW_SECRET, PHONE, entity["data"]["phone"]})


@pytest.fixture
def contact_app(app: Flask) -> Flask:
    install_contact(app)
    return app


@pytest.fixture
def api(contact_app: Flask) -> Callable[[str], Api]:
    return api_for(contact_app)


# ------------------------------------------------------------------- at rest


def test_the_sqlite_file_never_holds_a_sensitive_value(contact_app, api):
    entity = create_contact(api("admin"))
    with contact_app.app_context():
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        path = Path(db.engine.url.database)
        db.engine.dispose()

    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))

    assert b"enc:v1:" in raw  # the values are there, sealed
    assert [v for v in plaintexts(entity) if v.encode() in raw] == []


def test_a_postgresql_dump_never_holds_a_sensitive_value(pg_app, postgres_server):
    install_contact(pg_app)
    entity = create_contact(api_for(pg_app)("admin"))
    dbname = pg_app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]

    dump = subprocess.run([os.path.join(postgres_server.bindir, "pg_dump"), "-d",
                           postgres_server.dsn(dbname)],
                          check=True, capture_output=True, timeout=120).stdout

    assert b"enc:v1:" in dump
    assert [v for v in plaintexts(entity) if v.encode() in dump] == []


def test_a_bulk_update_of_a_sensitive_value_leaves_no_plaintext_behind(contact_app, api):
    entity = create_contact(api("admin"))
    secret = "walrus-kiwi-2024"

    done = api("support")("post", "/bulk/update", json={
        "ids": [entity["id"]], "update_data": {"secret": secret}, "dry_run": False})

    assert done.status_code == 200 and done.json["successful_ids"] == [entity["id"]], done.json
    with contact_app.app_context():
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        path = Path(db.engine.url.database)
        db.engine.dispose()
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert secret.encode() not in raw
    shown = api("admin")("get", f"/entities/{entity['id']}").json["data"]
    assert shown["secret"] == secret


# ------------------------------------------------------------------- who reads what


def readings(call: Api, entity_id: int, at: str) -> dict[str, Any]:
    """Every API answer that carries the contact's data."""
    return {
        "entity": call("get", f"/entities/{entity_id}").json["data"],
        "list": call("get", "/entities?type=contact").json["items"][0]["data"],
        "history": [item["metadata"] for item in
                    call("get", f"/entities/{entity_id}/history").json["items"]],
        "state_at": call("get", f"/entities/{entity_id}/state-at",
                         query_string={"at": at}).json["data"],
    }


@pytest.mark.parametrize("role", ["admin", "support"])
def test_roles_that_operate_read_sensitive_values_in_full(api, clock, role):
    entity = create_contact(api("admin"))

    seen = readings(api(role), entity["id"], clock().isoformat())

    assert seen["entity"]["secret"] == NEW_SECRET
    assert seen["list"]["secret"] == NEW_SECRET
    assert seen["state_at"]["secret"] == NEW_SECRET
    created, *_, last = reversed(seen["history"])
    assert created["data"]["after"]["secret"] == SECRET
    assert last["data"] == {"before": {"secret": SECRET}, "after": {"secret": NEW_SECRET}}
    assert "enc:v1:" not in json.dumps(seen)


@pytest.mark.parametrize("role", ["auditor", "config_editor"])
def test_other_roles_see_sensitive_values_masked(api, clock, role):
    entity = create_contact(api("admin"))

    seen = readings(api(role), entity["id"], clock().isoformat())

    masked = {"secret": MASK + "0815", "phone": MASK + entity["data"]["phone"][-4:]}
    assert {k: seen["entity"][k] for k in masked} == masked
    assert {k: seen["list"][k] for k in masked} == masked
    assert {k: seen["state_at"][k] for k in masked} == masked
    assert seen["history"][0]["data"] == {"before": {"secret": MASK + "4711"},
                                          "after": {"secret": MASK + "0815"}}
    text_seen = json.dumps(seen, ensure_ascii=False)
    assert [v for v in plaintexts(entity) if v in text_seen] == []
    assert "enc:v1:" not in text_seen


def test_a_patch_that_leaves_a_sensitive_value_alone_records_no_change_of_it(api):
    entity = create_contact(api("admin"))

    history = api("admin")("get", f"/entities/{entity['id']}/history").json["items"]

    note_edit = next(item for item in history if "note" in item["metadata"]["data"]["after"])
    assert note_edit["metadata"]["data"] == {"before": {}, "after": {"note": "called"}}


def test_the_audit_log_shows_sensitive_values_masked(api):
    entity = create_contact(api("admin"))

    entries = api("admin")("get", f"/audit?object_id={entity['id']}").json["items"]

    logged = json.dumps([e["diff"] for e in entries], ensure_ascii=False)
    assert MASK in logged
    assert [v for v in plaintexts(entity) if v in logged] == []
    assert "enc:v1:" not in logged


def test_event_payloads_carry_no_entity_data(contact_app, api):
    entity = create_contact(api("admin"))

    with contact_app.app_context():
        payloads = " ".join(row[0] if isinstance(row[0], str) else json.dumps(row[0])
                            for row in db.session.execute(text("SELECT payload FROM outbox_events")))

    assert str(entity["id"]) in payloads
    assert [v for v in plaintexts(entity) if v in payloads] == []
    assert "enc:v1:" not in payloads


@pytest.mark.parametrize(("role", "full"), [("admin", True), ("auditor", False)])
def test_the_csv_export_masks_sensitive_values_for_roles_that_may_not_see_them(
        api, login_as, role, full):
    create_contact(api("admin"))

    csv_text = login_as(role).get("/entities/export.csv?type=contact").text

    assert (NEW_SECRET in csv_text) is full
    assert "0815" in csv_text  # masked, the last 4 characters are still shown
    assert "enc:v1:" not in csv_text


# ------------------------------------------------------------------- keys


def stored_key_ids(app: Flask) -> set[str]:
    with app.app_context():
        docs = [r[0] for r in db.session.execute(text("SELECT data FROM entities"))]
        docs += [r[0] for r in db.session.execute(text("SELECT metadata FROM status_changes"))]
    found = set()
    for doc in docs:
        for part in (doc if isinstance(doc, str) else json.dumps(doc)).split("enc:v1:")[1:]:
            found.add(part.split(":", 1)[0])
    return found


def test_without_a_configured_key_one_is_generated_into_the_instance_folder(make_app):
    app = make_app(DATA_KEY=None)
    install_contact(app)
    create_contact(api_for(app)("admin"))

    path = Path(app.instance_path) / "data_key"

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored_key_ids(app) == {key_id_of(path.read_text().strip())}


def test_keys_rotate_re_encrypts_everything_and_drops_the_old_key(make_app):
    app = make_app(DATA_KEY=None)
    install_contact(app)
    entity = create_contact(api_for(app)("admin"))
    key_file = Path(app.instance_path) / "data_key"
    old_id = key_id_of(key_file.read_text().strip())

    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--chunk", "1"])

    assert result.exit_code == 0, result.output
    [new_id] = [key_id_of(k) for k in key_file.read_text().split()]
    assert new_id != old_id
    assert "entities up to #" in result.output and f"Dropped old key(s) {old_id}" in result.output
    assert stored_key_ids(app) == {new_id}
    shown = api_for(app)("support")("get", f"/entities/{entity['id']}").json["data"]
    assert shown["secret"] == NEW_SECRET


def test_keys_rotate_takes_the_new_key_given(make_app):
    app = make_app(DATA_KEY=None)
    install_contact(app)
    create_contact(api_for(app)("admin"))
    key = new_key()

    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", key])

    assert result.exit_code == 0, result.output
    assert stored_key_ids(app) == {key_id_of(key)}


def test_keys_from_the_environment_rotate_once_the_new_key_is_put_first(make_app):
    old, new = new_key(), new_key()
    before = make_app(DATA_KEY=old)
    install_contact(before)
    entity = create_contact(api_for(before)("admin"))

    refused = before.test_cli_runner().invoke(args=["keys", "rotate"])
    database = before.config["SQLALCHEMY_DATABASE_URI"]
    after = make_app(database_url=database, migrate=False, DATA_KEY=f"{new},{old}")
    done = after.test_cli_runner().invoke(args=["keys", "rotate"])

    assert refused.exit_code == 1 and "STATEKEEPER_DATA_KEY" in refused.output
    assert done.exit_code == 0, done.output
    assert "remove them from STATEKEEPER_DATA_KEY" in done.output
    assert stored_key_ids(after) == {key_id_of(new)}
    shown = api_for(after)("admin")("get", f"/entities/{entity['id']}").json["data"]
    assert shown["secret"] == NEW_SECRET


def test_an_app_without_the_key_answers_with_the_values_marked_unreadable(make_app):
    first = make_app(DATA_KEY=new_key())
    install_contact(first)
    entity = create_contact(api_for(first)("admin"))
    database = first.config["SQLALCHEMY_DATABASE_URI"]

    other = make_app(database_url=database, migrate=False, DATA_KEY=new_key())
    as_admin, as_auditor = api_for(other)("admin"), api_for(other)("auditor")
    answers = [as_admin("get", f"/entities/{entity['id']}"),
               as_auditor("get", f"/entities/{entity['id']}"),
               as_admin("get", f"/entities/{entity['id']}/history")]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json["data"]["secret"] == UNREADABLE
    assert answers[1].json["data"]["secret"] == UNREADABLE
    assert answers[0].json["data"]["note"] == "called"

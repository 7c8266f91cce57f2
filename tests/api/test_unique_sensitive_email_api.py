"""user_account ``email`` is sensitive and unique (CONTRACT §7 packs): every write path refuses
an address another account has, whatever its case, with the ``data.email`` sentence, while the
database holds no address in plain text; on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import text

from webapp.extensions import db

Call = Callable[..., Any]
ANN = "ann.lee@example.org"


def taken(shown: str) -> str:
    return f"Email must be unique: another user account has {shown!r}."


def _account(api: Call, email: str, **extra: Any):
    return api("POST", "/entities", {"type": "user_account", "name": email.split("@")[0],
                                     "data": {"email": email}, **extra})


def _made(api: Call, email: str) -> dict[str, Any]:
    answer = _account(api, email)
    assert answer.status_code == 201, answer.json
    return answer.json


def _fields(answer) -> dict[str, str]:
    assert answer.status_code == 400, answer.json
    return answer.json["fields"]


def test_creating_a_second_account_with_the_same_email_in_other_case_is_refused(api):
    _made(api, ANN)

    assert _fields(_account(api, "Ann.Lee@EXAMPLE.org")) == {
        "data.email": taken("Ann.Lee@example.org")}
    assert _fields(_account(api, ANN)) == {"data.email": taken(ANN)}


def test_an_import_with_a_status_is_held_to_the_same_rule(api):
    _made(api, ANN)

    answer = _account(api, "ANN.LEE@example.org", status="active",
                      last_activity_at="2025-01-02T03:04:05Z")

    assert _fields(answer) == {"data.email": taken("ANN.LEE@example.org")}


def test_patching_an_account_to_another_accounts_email_is_refused(api):
    _made(api, ANN)
    bob = _made(api, "bob@example.org")

    answer = api("PATCH", f"/entities/{bob['id']}",
                 {"version": bob["version"], "data": {"email": "ANN.LEE@example.org"}})

    assert _fields(answer) == {"data.email": taken("ANN.LEE@example.org")}


def test_an_account_keeps_its_own_email_through_a_patch_and_a_change_of_case(api):
    ann = _made(api, ANN)

    other = api("PATCH", f"/entities/{ann['id']}",
                {"version": ann["version"], "data": {"full_name": "Ann Lee"}})
    recased = api("PATCH", f"/entities/{ann['id']}",
                  {"version": other.json["version"], "data": {"email": "Ann.Lee@example.org"}})

    assert other.status_code == 200, other.json
    assert recased.status_code == 200 and recased.json["data"]["email"] == "Ann.Lee@example.org"


def test_a_bulk_update_to_a_taken_email_fails_each_item_with_the_field_sentence(api):
    _made(api, ANN)
    bob, cy = _made(api, "bob@example.org"), _made(api, "cy@example.org")

    answer = api("POST", "/bulk/update", {"ids": [bob["id"], cy["id"]],
                                          "update_data": {"email": "Ann.Lee@Example.org"},
                                          "dry_run": False, "rollback_on_error": False})

    assert answer.status_code == 200, answer.json
    assert answer.json["failure_details"] == {
        str(bob["id"]): taken("Ann.Lee@example.org"), str(cy["id"]): taken("Ann.Lee@example.org")}
    assert api("GET", f"/entities/{bob['id']}").json["data"]["email"] == "bob@example.org"


def test_a_bulk_update_giving_two_accounts_one_new_email_lets_only_the_first_have_it(api):
    bob, cy = _made(api, "bob@example.org"), _made(api, "cy@example.org")

    answer = api("POST", "/bulk/update", {"ids": [bob["id"], cy["id"]],
                                          "update_data": {"email": "team@example.org"},
                                          "dry_run": False, "rollback_on_error": False})

    assert answer.json["successful_ids"] == [bob["id"]]
    assert answer.json["failure_details"] == {str(cy["id"]): taken("team@example.org")}


def _stored_text(server: Flask) -> str:
    """Every JSON document the database keeps about entities, as text."""
    with server.app_context():
        rows = [db.session.execute(text(f"SELECT {column} FROM {table}")).scalars().all()
                for table, column in (("entities", "data"), ("status_changes", "metadata"),
                                      ("bulk_operations", "params"), ("audit_entries", "diff"))]
    return json.dumps([r if isinstance(r, str) else json.dumps(r) for rs in rows for r in rs])


def test_the_database_holds_no_email_in_plain_text(server, api):
    ann = _made(api, ANN)
    api("PATCH", f"/entities/{ann['id']}", {"version": ann["version"],
                                            "data": {"email": "Ann.Lee@Example.org"}})
    api("POST", "/bulk/update", {"ids": [ann["id"]], "update_data": {"email": "ann@example.net"},
                                 "dry_run": False})

    stored = _stored_text(server)

    assert "enc:v1:" in stored
    assert [e for e in ("ann.lee@example.org", "ann@example.net")
            if e in stored.lower()] == []
    if server.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with server.app_context():
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            path = Path(db.engine.url.database)
            db.engine.dispose()
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*")).lower()
        assert b"ann.lee@example.org" not in raw and b"ann@example.net" not in raw

"""`flask keys rotate` and the blind index of user_account ``email`` (unique and sensitive):
an address sealed before indexes existed gets one, every index is recomputed under the new
key, and a duplicate is still refused afterwards."""
from __future__ import annotations

import json

from sqlalchemy import text

from tests.factories import load_packs, make_token, make_user
from webapp.core.base.sealed import key_id
from webapp.core.changes.manager import StateManager
from webapp.core.fields.secrets import has_index
from webapp.extensions import db


def test_keys_rotate_indexes_old_addresses_and_duplicates_stay_refused(make_app):
    app = make_app(DATA_KEY=None)
    client = app.test_client()
    with app.app_context():
        load_packs(db.session)
        token = make_token(db.session, make_user(db.session, role="admin"))
        keyring = StateManager.get_instance().keyring
        legacy = keyring.seal_value("ann@example.org")  # as sealed before blind indexes
    headers = {"Authorization": f"Bearer {token}"}
    made = [client.post("/api/v1/entities", headers=headers, json={
        "type": "user_account", "name": name, "data": {"email": f"{name}@example.org"}}).json
        for name in ("ann", "bob")]
    with app.app_context():
        db.session.execute(text("UPDATE entities SET data = :d WHERE id = :i"),
                           {"d": json.dumps({"email": legacy}), "i": made[0]["id"]})
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["keys", "rotate"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = [json.loads(d)["email"] for d in db.session.execute(
            text("SELECT data FROM entities ORDER BY id")).scalars()]
        current = StateManager.get_instance().keyring.current_id
    assert [has_index(s) and key_id(s) == current for s in stored] == [True, True]
    again = client.post("/api/v1/entities", headers=headers, json={
        "type": "user_account", "name": "ann2", "data": {"email": "ANN@example.org"}})
    assert again.status_code == 400 and set(again.json["fields"]) == {"data.email"}
    shown = client.get(f"/api/v1/entities/{made[0]['id']}", headers=headers).json["data"]
    assert shown["email"] == "ann@example.org"

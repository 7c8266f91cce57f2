"""A past sweep run through the JSON API: what it did (paged) and its undo, dry run first
(issue 18), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from tests.factories import load_packs, make_entity, make_token, make_user
from webapp.core.base.actor import Actor
from webapp.extensions import db
from webapp.models import Entity

SEEDER = Actor("seeder", "admin")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def swept(request, clock):
    """Four sales reps made inactive and a builder warned by one real run (through the API)."""
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    with app.app_context():
        sm = load_packs(db.session)
        reps = [make_entity(sm, db.session, SEEDER, "sales_rep", name=f"Rep {n}").id
                for n in range(4)]
        builder = make_entity(sm, db.session, SEEDER, "builder", name="Acme Homes").id
        token = make_token(db.session, make_user(db.session, role="support"))
    clock.advance(days=61)
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    run = client.post("/api/v1/sweeps/run", json={}, headers=headers).json
    assert run["inactivated"] == 4
    return app, client, headers, run["run_id"], reps, builder


def _status(app, entity_id):
    with app.app_context():
        return db.session.get(Entity, entity_id).status


def test_a_run_shows_what_it_did_with_the_rest_a_page_away(swept, monkeypatch) -> None:
    _app, client, headers, run_id, reps, builder = swept
    monkeypatch.setattr("webapp.core.sweeps.run_detail.PAGE", 3)

    run = client.get(f"/api/v1/sweeps/runs/{run_id}", headers=headers).json
    rest = client.get(f"/api/v1/sweeps/runs/{run_id}/items", headers=headers, query_string={
        "action": "inactivate", "cursor": run["inactivate"]["next_cursor"]}).json

    assert (run["warned"], run["inactivated"], run["undoable"]) == (1, 4, True)
    assert [i["id"] for i in run["inactivate"]["items"] + rest["items"]] == reps
    assert rest["next_cursor"] is None
    assert [(i["id"], i["name"]) for i in run["warn"]["items"]] == [(builder, "Acme Homes")]
    listed = client.get("/api/v1/sweeps/runs", headers=headers).json["items"]
    assert [r["id"] for r in listed] == [run_id]


def test_undo_previews_then_puts_back_all_but_the_entity_changed_since(swept) -> None:
    app, client, headers, run_id, reps, _builder = swept
    client.post(f"/api/v1/entities/{reps[0]}/activity", json={"note": "back"}, headers=headers)
    client.post(f"/api/v1/entities/{reps[0]}/transition", json={"to": "inactive"},
                headers=headers)  # changed since: left as it is now

    preview = client.post(f"/api/v1/sweeps/runs/{run_id}/undo", json={"dry_run": True},
                          headers=headers).json
    assert (preview["dry_run"], preview["successful_ids"]) == (True, reps[1:])
    assert _status(app, reps[1]) == "inactive"

    done = client.post(f"/api/v1/sweeps/runs/{run_id}/undo", json={"comments": "wrong grace"},
                       headers=headers).json
    assert (done["successful_ids"], done["failed_ids"]) == (reps[1:], [reps[0]])
    assert "changed since" in done["failure_details"][str(reps[0])]
    assert [_status(app, r) for r in reps] == ["inactive", "active", "active", "active"]
    history = client.get(f"/api/v1/entities/{reps[1]}/history", headers=headers).json["items"]
    assert (history[0]["source"], history[0]["reason"]) == ("revert", "wrong grace")

    again = client.post(f"/api/v1/sweeps/runs/{run_id}/undo", json={}, headers=headers).json
    assert again["successful_ids"] == []  # all were changed since: nothing overwritten


def test_bad_undo_requests_are_refused(swept) -> None:
    app, client, headers, run_id, _reps, _builder = swept
    with app.app_context():
        auditor = {"Authorization": f"Bearer {make_token(db.session, make_user(db.session, role='auditor'))}"}
    assert client.post("/api/v1/sweeps/runs/999999/undo", json={}, headers=headers).status_code == 404
    assert client.get("/api/v1/sweeps/runs/999999", headers=headers).status_code == 404
    assert client.post(f"/api/v1/sweeps/runs/{run_id}/undo", json={"dry_run": "yes"},
                       headers=headers).status_code == 400
    assert client.post(f"/api/v1/sweeps/runs/{run_id}/undo", json={"force": True},
                       headers=headers).status_code == 403  # only an admin may force
    assert client.post(f"/api/v1/sweeps/runs/{run_id}/undo", json={"dry_run": True},
                       headers=auditor).status_code == 403
    assert client.get(f"/api/v1/sweeps/runs/{run_id}/items?action=jump&cursor=1",
                      headers=headers).status_code == 400

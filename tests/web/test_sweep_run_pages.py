"""A past sweep run's page: its lists with links, paged, and its undo (preview, then one
operation that leaves entities changed since as they are): issue 18."""
from __future__ import annotations

import re

from flask import Flask

from tests.factories import load_packs, make_entity
from tests.helpers import Clock, csrf_token
from webapp.core.base.actor import Actor
from webapp.core.sweeps import runs as sweep_runs
from webapp.extensions import db
from webapp.models import Entity

SEEDER = Actor("seeder", "admin")
HTMX = {"HX-Request": "true"}


def _swept(app: Flask, clock: Clock, reps: int = 3) -> tuple[int, list[int]]:
    """``reps`` sales reps made inactive and a builder warned by one recorded run."""
    with app.app_context():
        sm = load_packs(db.session)
        ids = [make_entity(sm, db.session, SEEDER, "sales_rep", name=f"Rep {n}").id
               for n in range(reps)]
        make_entity(sm, db.session, SEEDER, "builder", name="Acme Homes")
        clock.advance(days=61)
        return sweep_runs.run(db.session, sm, clock).run_id, ids


def _status(app: Flask, entity_id: int) -> str:
    with app.app_context():
        return db.session.get(Entity, entity_id).status


def test_a_run_page_lists_what_it_did_with_links_and_more_on_demand(app: Flask, login_as,
                                                                     clock: Clock,
                                                                     monkeypatch) -> None:
    run_id, reps = _swept(app, clock)
    monkeypatch.setattr("webapp.core.sweeps.run_detail.PAGE", 2)
    client = login_as("auditor")

    page = client.get(f"/sweeps/runs/{run_id}").text
    assert f'href="/entities/{reps[0]}"' in page and f'href="/entities/{reps[2]}"' not in page
    assert "Acme Homes" in page and "More made inactive" in page
    assert "Preview the undo" not in page  # an auditor may look, not undo
    [cursor] = re.findall(r'hx-get="[^"]*action=inactivate&amp;cursor=(\d+)"', page)
    more = client.get(f"/sweeps/runs/{run_id}/items?action=inactivate&cursor={cursor}",
                      headers=HTMX)
    assert more.status_code == 200 and "<html" not in more.text
    assert f'href="/entities/{reps[2]}"' in more.text and "More made inactive" not in more.text
    assert f'href="/sweeps/runs/{run_id}"' in client.get("/sweeps/").text
    assert client.get(f"/sweeps/runs/{run_id}/items?action=nope&cursor=1").status_code == 400
    assert client.get(f"/sweeps/runs/{run_id}/items?action=warn&cursor=x").status_code == 400
    assert client.get("/sweeps/runs/999999").status_code == 404


def test_undo_from_the_page_previews_then_leaves_the_entity_changed_since(app: Flask, login_as,
                                                                           clock: Clock) -> None:
    run_id, reps = _swept(app, clock)
    client = login_as("support")
    with app.app_context():
        from webapp.core.changes.manager import StateManager
        StateManager.get_instance().record_activity(db.session, SEEDER, reps[0])

    preview = client.get(f"/sweeps/runs/{run_id}/undo", headers=HTMX).text
    assert "would be put back" in preview and "changed since" in preview
    assert _status(app, reps[1]) == "inactive"

    token = csrf_token(client.get(f"/sweeps/runs/{run_id}/undo").text)
    done = client.post(f"/sweeps/runs/{run_id}/undo", data={"csrf_token": token,
                                                            "comment": "grace was wrong"})
    assert done.status_code == 303 and "/bulk/" in done.headers["Location"]
    assert [_status(app, r) for r in reps] == ["active", "active", "active"]
    assert "changed since" in client.get(done.headers["Location"]).text
    assert login_as("config_editor").get(f"/sweeps/runs/{run_id}/undo").status_code == 403

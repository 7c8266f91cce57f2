"""The hostile-input matrix (test_bad_input_matrix.py) on the routes whose path names a row the
matrix's world does not have: an approval, a bulk operation, a webhook and one of its
deliveries, an audit entry, a settings change, an API token, a saved view, a workflow rule,
a scheduled setting change, a sweep run.
There they stop at a 404 before their own parsing; here every path argument is a real row, so
the poisons reach the code behind each lookup (issue 19: no input reaches a 500)."""
# The fixture imported from the matrix module comes back as a test parameter.
# ruff: noqa: F811
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.security.test_bad_input_matrix import (  # noqa: F401 - fixture
    _arguments,
    documented,
    entity_pages,
    page_inputs,
    poisoned_rows,
    send_api,
    send_form,
    world,
)
from webapp.core.base.actor import SYSTEM
from webapp.core.changes.manager import StateManager
from webapp.core.events import webhooks
from webapp.core.sweeps import runs as sweep_runs
from webapp.extensions import db
from webapp.models import ApiToken, OutboxEvent, WebhookDelivery

#: Path arguments the matrix fills with a real row already (the rest: here).
COVERED = {"entity_id", "entity_type", "name", "user_id", "change_id", "filename"}


def _api(app: Flask, token: str, method: str, url: str, **body: Any) -> Any:
    answer = app.test_client().open(url, method=method, json=body or None,
                                    headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code < 300, (url, answer.status_code, answer.text[:300])
    return answer.json


def _rows(app: Flask, world: dict[str, Any]) -> dict[str, Any]:
    """A real row for each path argument the matrix leaves at 999999."""
    token, sm = world["token"], StateManager.get_instance()
    with app.app_context():
        builder = sm.create_entity(db.session, SYSTEM, type="builder", name="Matrix Homes").id
        prop = sm.create_entity(db.session, SYSTEM, type="property", name="1 Matrix Way").id
        sub = webhooks.create_subscription(db.session, SYSTEM, "https://example.com/hook", ["*"],
                                           sm.clock())[0].id
        event = db.session.scalar(select(OutboxEvent.id).order_by(OutboxEvent.id.desc()))
        db.session.add(WebhookDelivery(subscription_id=sub, event_id=event, state="dead",
                                       attempts=3, last_error="could not resolve host"))
        db.session.commit()
        delivery = db.session.scalar(select(WebhookDelivery.id))
        token_id = db.session.scalar(select(ApiToken.id))
        wf = sm.workflows.get(db.session, "builder")
        ruled = next(t for t in wf.transitions if t.rules)
    asked = _api(app, token, "POST", f"/api/v1/entities/{builder}/transition", to="out_of_business",
                 reason="closing")
    bulk = _api(app, token, "POST", "/api/v1/bulk/transition", ids=[prop], target_state="pending")
    view = _api(app, token, "POST", "/api/v1/views", name="Matrix view", type="ticket", query={},
                shared=False)
    _api(app, token, "PATCH", "/api/v1/config", sweep_interval_minutes=45)
    setting_change = _api(app, token, "GET", "/api/v1/config/history")["items"][0]["id"]
    later = (sm.clock() + timedelta(days=1)).isoformat()
    scheduled = _api(app, token, "PATCH", "/api/v1/config", sweep_interval_minutes=50,
                     effective_at=later)["id"]
    with app.app_context():  # a sweep run that made a change (its undo page needs one)
        sm.create_entity(db.session, SYSTEM, type="sales_rep", name="Matrix Rep",
                         last_activity_at=sm.clock() - timedelta(days=61))
        run_id = sweep_runs.run(db.session, sm, sm.clock).run_id
    schedule = _api(app, token, "POST", f"/api/v1/entities/{builder}/schedules", to="inactive",
                    at=later, reason="matrix")["id"]
    entry = _api(app, token, "GET", "/api/v1/audit")["items"][0]["id"]
    return {"schedule_id": schedule, "approval_id": asked["approval"]["id"], "cid": bulk["audit_correlation_id"],
            "correlation_id": bulk["audit_correlation_id"], "sub_id": sub,
            "delivery_id": delivery, "entry_id": entry, "token_id": token_id,
            "view_id": view["id"], "index": 0, "number": 1, "ruled": ("builder", ruled.name),
            "setting_change": setting_change, "scheduled_id": scheduled, "run_id": run_id}


def routes(app: Flask, world: dict[str, Any], rows: dict[str, Any]
           ) -> Iterator[tuple[str, str, str]]:
    """(method, rule with "{}" for arguments, URL) of every route with an argument the matrix
    has no row for, built with the real rows."""
    for rule in app.url_map.iter_rules():
        if not set(rule.arguments) - COVERED or rule.endpoint == "auth.logout":
            continue
        known = {**_arguments(world), **rows}
        if "index" in rule.arguments:  # a rule of a transition that has one
            known["entity_type"], known["name"] = rows["ruled"]
        if rule.rule.startswith("/settings/changes/"):
            known["change_id"] = rows["setting_change"]
        url = rule.build({a: known[a] for a in rule.arguments}, append_unknown=False)[1]
        pattern = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, pattern, url


def test_no_hostile_input_to_a_route_about_another_row_gets_a_server_error(app, world):
    rows = _rows(app, world)
    (names, uploads), api_inputs, failures, sent = page_inputs(app, world), documented(app), [], 0
    found = list(routes(app, world, rows))
    api = {"Authorization": f"Bearer {world['token']}"}
    missing = [url for method, _, url in found if method == "GET" and (
        app.test_client().get(url, headers=api) if url.startswith("/api/")
        else world["browser"].get(url)).status_code == 404]
    assert missing == []  # every row is real: the poisons get past the lookups
    for method, pattern, url in found:
        if url.startswith("/api/"):
            answers = send_api(app, world, method, url, pattern,
                               api_inputs.get((method, pattern), (set(), set())))
        else:
            answers = send_form(world, method, url, names, uploads)
        for label, r in answers:
            sent += 1
            if r.status_code >= 500:
                failures.append(f"{method} {url} [{label}]: {r.status_code} {r.text[:160]!r}")

    assert {a for _, p, _ in found for a in re.findall(r"\{\}", p)} and sent > 100
    assert not failures, f"{len(failures)} answers ≥ 500:\n" + "\n".join(failures[:60])
    assert poisoned_rows(app) == []
    assert [url for url, status in entity_pages(app, world) if status >= 500] == []

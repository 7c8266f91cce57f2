"""Every route × every role (and anonymous), against the role table of CONTRACT.md §4.

The matrix is built from what each view declares (``@requires`` sets ``required_capability``)
and the contract's table, which is written out below rather than read from
``webapp.permissions``: a capability table or a route declaration that drifts from the
contract fails here. Requests use ids that do not exist, so allowed calls end in 404/400
without changing anything.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.factories import make_token, make_user
from tests.helpers import csrf_token
from webapp.extensions import db
from webapp.models import ROLES
from webapp.permissions import CAPABILITIES, PUBLIC

#: CONTRACT.md §4, row by row: the roles that may.
CONTRACT = {
    "view": {"admin", "support", "config_editor", "auditor"},  # entities, workflows, config
    "operate": {"admin", "support"},  # create, record activity, transition, bulk operations
    "revert": {"admin", "support"},  # revert a change, undo a bulk operation
    "configure": {"admin", "config_editor"},  # grace periods, thresholds, limits
    "edit_workflows": {"admin", "config_editor"},  # workflows, rules and cascades
    "audit": {"admin", "auditor"},  # see and export the audit log, verify it
    "manage_users": {"admin"},  # users and tokens
    "force": {"admin"},  # force a revert or undo the workflow forbids (narrower than "revert")
}

#: The JSON API of CONTRACT.md §6 and what §4 says each route needs ("{}" is a path argument).
API = {
    ("GET", "/api/v1/entities"): "view",
    ("GET", "/api/v1/schemas/workflow.json"): "view",
    ("POST", "/api/v1/entities"): "operate",
    ("GET", "/api/v1/entities/{}"): "view",
    ("PATCH", "/api/v1/entities/{}"): "operate",
    ("GET", "/api/v1/entities/{}/transitions"): "view",
    ("POST", "/api/v1/entities/{}/transition"): "operate",
    ("POST", "/api/v1/entities/{}/activity"): "operate",
    ("GET", "/api/v1/entities/{}/history"): "view",
    ("GET", "/api/v1/entities/{}/state-at"): "view",
    ("POST", "/api/v1/entities/{}/revert"): "revert",
    ("POST", "/api/v1/bulk/transition"): "operate",
    ("POST", "/api/v1/bulk/assign"): "operate",
    ("POST", "/api/v1/bulk/update"): "operate",
    ("POST", "/api/v1/bulk/{}/undo"): "revert",
    ("GET", "/api/v1/audit"): "audit",
    ("GET", "/api/v1/audit/verify"): "audit",
    ("GET", "/api/v1/config"): "view",
    ("PATCH", "/api/v1/config"): "configure",
    ("GET", "/api/v1/config/history"): "view",
    ("GET", "/api/openapi.json"): PUBLIC,
}
#: Routes open to everyone, on purpose. Any other PUBLIC route fails the test.
PUBLIC_ROUTES = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("GET", "/readyz"),
                 ("GET", "/metrics"), ("GET", "/api/openapi.json")}
#: Routes that declare a floor and check more in the view, by what the request asks; the
#: capability an empty request (what the matrix sends) needs.
REFINED = {("POST", "/api/v1/sweeps/run"): "operate",  # dry runs for all, real runs: operate
           # approvals are decided by the roles each request names (CONTRACT §4, §9)
           ("POST", "/api/v1/approvals/{}/approve"): "view",
           ("POST", "/api/v1/approvals/{}/reject"): "view",
           # a person's own saved views and list columns: every role keeps its own (CONTRACT
           # §11); deleting a shared view is checked inside (its owner or an admin)
           ("POST", "/api/v1/views"): "view", ("DELETE", "/api/v1/views/{}"): "view",
           ("POST", "/entities/views"): "view", ("POST", "/entities/views/{}/pin"): "view",
           ("POST", "/entities/views/{}/delete"): "view", ("POST", "/entities/columns"): "view"}
#: Pages by area: capabilities a GET may need, and those a change may need (§4 by topic).
AREAS = {
    "auth": ({PUBLIC}, {PUBLIC, "view"}),  # sign in; sign out
    "ops": ({PUBLIC}, set()),
    "dashboard": ({"view"}, set()),
    "reports": ({"view"}, set()),  # reading only: the reports change nothing
    "entities": ({"view", "revert", "operate"}, {"operate", "revert"}),  # GET revert: the
    # preview; GET operate: the New page and the user lookup of its form
    "bulk": ({"view", "operate", "revert"}, {"operate", "revert"}),
    "sweeps": ({"view", "operate", "revert"}, {"operate", "revert"}),  # undo a run: revert
    "workflows": ({"view", "edit_workflows"}, {"edit_workflows"}),  # GET editors
    "settings": ({"view"}, {"configure"}),
    "events": ({"view", "manage_users"}, {"view", "manage_users"}),  # webhooks: admins; own bell
    "audit": ({"audit"}, {"audit"}),
    "users": ({"manage_users"}, {"manage_users"}),
    "approvals": ({"view"}, {"view"}),  # deciding: the roles a request names (checked inside)
    "api": ({"view", "audit", PUBLIC}, {"operate", "revert", "configure", "edit_workflows",
                                        "manage_users"}),
}
#: Allowed callers are not sent these (they would end the session the matrix uses).
NOT_SENT_WHEN_ALLOWED = {"auth.logout"}
MISSING_ID = 999999
READS = {"GET"}


def routes(app: Flask) -> Iterator[tuple[str, str, str, str]]:
    """(method, rule pattern with "{}" for arguments, URL to call, endpoint) of every route."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = rule.build({arg: MISSING_ID for arg in rule.arguments}, append_unknown=False)[1]
        pattern = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, pattern, url, rule.endpoint


def capability(app: Flask, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "required_capability", None)


# ------------------------------------------------------------------ declarations


def test_the_permission_table_is_the_contracts():
    assert {k: set(v) for k, v in CAPABILITIES.items()} == CONTRACT


def test_every_route_in_the_url_map_declares_who_may_use_it(app):
    undeclared = [f"{m} {p}" for m, p, _, e in routes(app) if capability(app, e) is None]

    assert undeclared == []


def test_every_contract_api_route_that_exists_declares_what_the_contract_says(app):
    wrong = {f"{m} {p}": capability(app, e) for m, p, _, e in routes(app)
             if (m, p) in API and capability(app, e) != API[(m, p)]}

    assert wrong == {}


def test_every_route_declares_a_capability_that_fits_its_area(app):
    misfits = []
    for method, pattern, _, endpoint in routes(app):
        area = endpoint.split(".")[0]
        assert area in AREAS, f"{endpoint}: a new area; add it to AREAS with its §4 rule"
        reads, changes = AREAS[area]
        allowed = reads if method in READS else changes
        declared = capability(app, endpoint)
        if declared not in allowed and (method, pattern) not in REFINED:
            misfits.append(f"{method} {pattern} declares {declared}, "
                           f"expected one of {sorted(allowed)}")

    assert misfits == []


def test_only_the_routes_meant_to_be_public_are(app):
    public = {(m, p) for m, p, _, e in routes(app) if capability(app, e) == PUBLIC}

    assert public == PUBLIC_ROUTES


# ------------------------------------------------------------------ the matrix


@pytest.fixture
def callers(app):
    """A way to call any route as each role: Bearer tokens for the API, sessions for pages."""
    tokens, browsers = {}, {}
    with app.app_context():
        for role in ROLES:
            user = make_user(db.session, role=role, username=f"matrix-{role}")
            tokens[role] = make_token(db.session, user)
    for role in ROLES:
        browser = app.test_client()
        token = csrf_token(browser.get("/login").text)
        browser.post("/login", data={"csrf_token": token, "username": f"matrix-{role}",
                                     "password": "correct-horse-42"})
        browsers[role] = (browser, _page_csrf(browser.get("/").text))
    anonymous = app.test_client()
    browsers["anonymous"] = (anonymous, csrf_token(anonymous.get("/login").text))
    return tokens, browsers


def _page_csrf(html: str) -> str:
    return json.loads(re.search(r"hx-headers='([^']+)'", html).group(1))["X-CSRFToken"]


def call(app, callers, who: str, method: str, url: str):
    """Roles call the API as scripts do (a token, no cookies) and pages as browsers do."""
    tokens, browsers = callers
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
        return app.test_client().open(url, method=method, headers=headers)
    browser, token = browsers[who]
    return browser.open(url, method=method, headers={"X-CSRFToken": token})


def verdict(response, who: str, url: str, needed: str) -> str | None:
    """What is wrong with the answer, or None."""
    status = response.status_code
    if status >= 500:
        return f"answered {status}"
    if needed == PUBLIC:
        return "refused a public route" if status == 403 else None
    if who == "anonymous":
        if url.startswith("/api/"):
            ok = status == 401 and response.is_json and response.json.get("error") == "unauthorized"
            return None if ok else f"anonymous got {status}, expected a 401 JSON error"
        ok = status == 302 and response.headers["Location"].startswith("/login?next=")
        return None if ok else f"anonymous got {status}, expected a redirect to sign in"
    if who not in CONTRACT[needed]:
        return None if status == 403 else f"got {status}, expected 403 ({needed})"
    return f"refused with {status} ({needed})" if status in (401, 403) else None


@pytest.mark.parametrize("who", [*ROLES, "anonymous"])
def test_each_route_answers_each_caller_as_the_contract_says(app, callers, who):
    problems = []
    for method, pattern, url, endpoint in routes(app):
        needed = REFINED.get((method, pattern)) or capability(app, endpoint)
        allowed = needed == PUBLIC or (who != "anonymous" and who in CONTRACT[needed])
        if allowed and endpoint in NOT_SENT_WHEN_ALLOWED:
            continue
        problem = verdict(call(app, callers, who, method, url), who, url, needed)
        if problem:
            problems.append(f"{method} {url} as {who}: {problem}")

    assert not problems, "\n".join(problems)

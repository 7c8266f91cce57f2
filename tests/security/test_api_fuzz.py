"""Schemathesis against /api/openapi.json, in-process: no generated request may cause a 5xx.

The app runs on a seeded database (packs, a few entities of every type) and the calls carry an
admin token, so generated requests reach the code behind every route rather than stopping at
401/403. The example count is kept small so the whole run stays well under a minute.
"""
from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
# Hypothesis comes with schemathesis, so these imports follow the skip.
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.factories import load_packs, make_token, make_user
from webapp.core.base.actor import SYSTEM
from webapp.core.changes.manager import StateManager
from webapp.extensions import db

EXAMPLES = 10
#: The data a type cannot be created without (its required fields).
REQUIRED = {"ticket": {"priority": "LOW"}}


@pytest.fixture
def seeded(app):
    """Packs loaded, two entities of every type, and an admin's Bearer header."""
    with app.app_context():
        manager = load_packs(db.session)
        for entity_type in manager.workflows.all(db.session):
            for n in (1, 2):
                manager.create_entity(db.session, SYSTEM, type=entity_type,
                                      name=f"{entity_type} {n}", data=REQUIRED.get(entity_type, {}))
        token = make_token(db.session, make_user(db.session, role="admin"))
    yield {"Authorization": f"Bearer {token}"}
    # Generated PATCH /config calls change settings; the process's store must not keep them.
    StateManager.get_instance().settings.invalidate()


def operations(app):
    """Every operation of the app's own OpenAPI document."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


# Schemathesis' pytest plugin cannot take an app from a fixture under pytest 9, so each
# operation's examples are drawn with Hypothesis directly (the documented Python API).
def test_no_generated_api_request_gets_a_server_error(app, seeded):
    failures = []
    for operation in operations(app):

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=seeded, checks=[not_a_server_error])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report all operations
            failures.append(f"{operation.label}: {type(exc).__name__}: {_first_lines(exc)}")

    assert not failures, "\n\n".join(failures)


def _first_lines(exc: BaseException, count: int = 12) -> str:
    return "\n".join(str(exc).strip().splitlines()[:count])


def test_the_fuzzing_reaches_every_route_of_the_document(app):
    document = app.test_client().get("/api/openapi.json").json
    documented = {f"{method.upper()} {path}" for path, item in document["paths"].items()
                  for method in item if method in ("get", "post", "patch", "put", "delete")}

    assert {operation.label for operation in operations(app)} == documented
    assert {"GET /audit", "GET /audit/verify", "POST /entities"} <= documented

"""POST /api/v1/sweeps/run (CONTRACT.md §6) and `flask sweep run` (§3)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.factories import load_packs, make_token, make_user
from tests.web.test_sweeps import quiet_reps, runs, statuses
from webapp.core.base import lease
from webapp.core.changes.manager import StateManager
from webapp.core.sweeps import runs as sweep_runs
from webapp.extensions import db

CONTRACT_KEYS = {"scanned", "warned", "inactivated", "reactivated", "items"}


@pytest.fixture(autouse=True)
def fresh_manager(clock) -> Iterator[None]:
    """The process-wide StateManager, new for each test and on the test's clock."""
    StateManager.reset_instance()
    StateManager.get_instance().clock = clock
    yield
    StateManager.reset_instance()


@pytest.fixture
def sm(app) -> StateManager:
    with app.app_context():
        return load_packs(db.session)


@pytest.fixture
def bearer(app):
    def _bearer(role: str) -> dict[str, str]:
        with app.app_context():
            token = make_token(db.session, make_user(db.session, role=role))
        return {"Authorization": f"Bearer {token}"}
    return _bearer


def test_a_dry_run_answers_the_contract_shape_and_writes_nothing(app, sm, clock, client, bearer):
    [rep] = quiet_reps(app, sm, clock, "Ana Silva")

    answer = client.post("/api/v1/sweeps/run", json={"dry_run": True}, headers=bearer("auditor"))

    assert answer.status_code == 200
    body = answer.get_json()
    assert CONTRACT_KEYS <= set(body)
    assert (body["scanned"], body["inactivated"], body["dry_run"]) == (1, 1, True)
    assert body["items"] == [{"id": rep, "type": "sales_rep", "name": "Ana Silva",
                              "action": "inactivate", "days_quiet": 61}]
    assert statuses(app, [rep]) == ["active"] and runs(app) == []


def test_a_forecast_with_as_of_says_what_a_later_sweep_will_do(app, sm, clock, client, bearer):
    quiet_reps(app, sm, clock, "Ana Silva", days=10)
    later = (clock() + timedelta(days=50)).isoformat()

    body = client.post("/api/v1/sweeps/run", json={"dry_run": True, "as_of": later},
                       headers=bearer("auditor")).get_json()

    assert (body["inactivated"], body["items"][0]["days_quiet"]) == (1, 60)
    assert body["as_of"] == later


def test_a_real_run_changes_entities_and_is_recorded(app, sm, clock, client, bearer):
    ids = quiet_reps(app, sm, clock, "Ana Silva", "Omar Haddad")

    body = client.post("/api/v1/sweeps/run", json={"dry_run": False},
                       headers=bearer("support")).get_json()

    assert (body["inactivated"], body["dry_run"]) == (2, False)
    assert statuses(app, ids) == ["inactive", "inactive"]
    assert [r.id for r in runs(app)] == [body["run_id"]]


def test_only_operators_may_run_a_real_sweep(app, sm, client, bearer):
    answer = client.post("/api/v1/sweeps/run", json={}, headers=bearer("auditor"))
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "forbidden"


@pytest.mark.parametrize(("body", "field"), [
    ({"dry_run": False, "as_of": "2030-01-01T00:00:00Z"}, "as_of"),
    ({"as_of": "2030-01-01T00:00:00Z"}, "as_of"),
    ({"dry_run": True, "as_of": "next tuesday"}, "as_of"),
    ({"dry_run": "yes"}, "dry_run"),
    ({"dry_run": True, "verbose": True}, "verbose"),
])
def test_bad_input_is_a_400_naming_the_field(app, sm, client, bearer, body, field):
    answer = client.post("/api/v1/sweeps/run", json=body, headers=bearer("admin"))
    assert answer.status_code == 400
    assert field in answer.get_json()["fields"]


def test_a_run_while_another_process_sweeps_is_a_409(app, sm, clock, client, bearer):
    with app.app_context():
        lease.acquire(db.session, sweep_runs.LEASE, "worker@elsewhere:7", clock(),
                      timedelta(minutes=2))

    answer = client.post("/api/v1/sweeps/run", json={"dry_run": False}, headers=bearer("admin"))

    assert answer.status_code == 409
    assert answer.get_json()["error"] == "conflict"
    assert "already running" in answer.get_json()["message"]


def test_the_openapi_document_describes_the_sweep_route(app, client):
    doc = client.get("/api/openapi.json").get_json()
    route = doc["paths"]["/sweeps/run"]["post"]
    assert set(route["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {
        "dry_run", "as_of"}
    assert CONTRACT_KEYS <= set(doc["components"]["schemas"]["SweepReport"]["properties"])


# ------------------------------------------------------------------------------------ the CLI


def test_the_cli_dry_run_forecasts_with_as_of(app, sm, clock):
    quiet_reps(app, sm, clock, "Ana Silva", days=10)
    as_of = (clock() + timedelta(days=55)).isoformat()

    result = app.test_cli_runner().invoke(args=["sweep", "run", "--dry-run", "--as-of", as_of])

    assert result.exit_code == 0, result.output
    assert "Dry run as of" in result.output
    assert "0 warned, 1 made inactive, 0 reactivated" in result.output
    assert "Ana Silva (65 days quiet)" in result.output
    assert runs(app) == []


def test_the_cli_runs_a_real_sweep(app, sm, clock):
    ids = quiet_reps(app, sm, clock, "Ana Silva", days=70)

    result = app.test_cli_runner().invoke(args=["sweep", "run"])

    assert result.exit_code == 0, result.output
    assert "Sweep run 1 as of" in result.output
    assert statuses(app, ids) == ["inactive"]


def test_the_cli_refuses_as_of_without_dry_run(app, sm):
    result = app.test_cli_runner().invoke(args=["sweep", "run", "--as-of", "2030-01-01"])
    assert result.exit_code == 2
    assert "--as-of forecasts, so it needs --dry-run." in result.output


def test_the_cli_explains_a_bad_as_of(app, sm):
    result = app.test_cli_runner().invoke(args=["sweep", "run", "--dry-run", "--as-of", "soon"])
    assert result.exit_code == 2
    assert "use an ISO 8601 time" in result.output

"""/metrics in Prometheus format and structured JSON logs with request and correlation ids."""
from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import load_packs, make_token, make_user
from webapp.extensions import db
from webapp.logging import install_json_handler
from webapp.models import BulkOperation, SweepRun

#: The scraper's credential (STATEKEEPER_METRICS_TOKEN) in the apps these tests scrape.
METRICS_TOKEN = "scrape-token-for-tests"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def sample(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def fresh_app(make_app):
    """An app whose database figures are read on every scrape (no cache)."""
    return make_app(METRICS_CACHE_SECONDS=0, METRICS_TOKEN=METRICS_TOKEN)


@pytest.fixture
def api(fresh_app):
    """(client, headers) of a support user's token, with the workflow packs loaded."""
    with fresh_app.app_context():
        load_packs(db.session)
        token = make_token(db.session, make_user(db.session, role="support"))
    return fresh_app.test_client(), {"Authorization": f"Bearer {token}"}


def open_ticket(api) -> dict:
    client, headers = api
    ticket = client.post("/api/v1/entities", json={
        "type": "ticket", "name": "Leaky tap", "data": {"priority": "LOW"}}, headers=headers).json
    return client.post(f"/api/v1/entities/{ticket['id']}/transition", json={"to": "OPEN"},
                       headers={**headers, "X-Correlation-ID": "corr-123"})


# ------------------------------------------------------------------ metrics


def test_metrics_count_a_transition_by_type_from_to_and_source(api):
    client = api[0]
    labels = {"type": "ticket", "from": "NEW", "to": "OPEN", "source": "api"}
    before = scrape(client)

    assert open_ticket(api).status_code == 200
    after = scrape(client)

    name = "statekeeper_status_changes_total"
    assert sample(after, name, **labels) - sample(before, name, **labels) == 1
    latency = "statekeeper_transition_duration_seconds_count"
    assert sample(after, latency, source="api") - sample(before, latency, source="api") == 1


def test_a_refused_transition_is_not_counted(api):
    client, headers = api
    ticket = client.post("/api/v1/entities", json={
        "type": "ticket", "name": "x", "data": {"priority": "LOW"}}, headers=headers).json
    before = scrape(client)

    refused = client.post(f"/api/v1/entities/{ticket['id']}/transition", json={"to": "CLOSED"},
                          headers=headers)

    assert refused.status_code == 422
    assert sample(scrape(client), "statekeeper_status_changes_total", type="ticket", **{
        "from": "NEW", "to": "CLOSED", "source": "api"}) == sample(
        before, "statekeeper_status_changes_total", type="ticket",
        **{"from": "NEW", "to": "CLOSED", "source": "api"})


def test_entities_are_counted_by_type_and_status(api):
    open_ticket(api)
    api[0].post("/api/v1/entities", json={"type": "ticket", "name": "Broken door",
                                          "data": {"priority": "LOW"}}, headers=api[1])

    samples = scrape(api[0])

    assert sample(samples, "statekeeper_entities", type="ticket", status="NEW") == 1
    assert sample(samples, "statekeeper_entities", type="ticket", status="OPEN") == 1
    assert sample(samples, "statekeeper_database_metrics_up") == 1


def test_http_requests_are_counted_by_endpoint_and_code(fresh_app):
    client = fresh_app.test_client()
    before = scrape(client)
    client.get("/api/v1/me")
    client.get("/no/such/page")

    after = scrape(client)

    def delta(**labels):
        name = "statekeeper_http_requests_total"
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta(endpoint="api.me", method="GET", code="401") == 1
    assert delta(endpoint="unmatched", method="GET", code="404") == 1


def test_the_outbox_backlog_and_failures_come_from_the_database(api):
    open_ticket(api)

    samples = scrape(api[0])

    # One EntityCreated and one StatusChanged event wait for delivery; nothing has died yet.
    assert sample(samples, "statekeeper_outbox_events", state="pending") == 2
    assert sample(samples, "statekeeper_outbox_events", state="dead") == 0
    assert sample(samples, "statekeeper_webhook_deliveries", state="dead") == 0


def test_sweep_runs_and_durations_come_from_their_records(fresh_app, clock):
    start = clock()
    with fresh_app.app_context():
        db.session.add_all([
            SweepRun(started_at=start, finished_at=start + timedelta(seconds=4), inactivated=3,
                     warned=2),
            SweepRun(started_at=start, finished_at=start + timedelta(seconds=9), dry_run=True),
            SweepRun(started_at=start, finished_at=start + timedelta(seconds=1), error="boom"),
        ])
        db.session.commit()

    samples = scrape(fresh_app.test_client())

    assert sample(samples, "statekeeper_sweep_runs_total", outcome="ok", dry_run="false") == 1
    assert sample(samples, "statekeeper_sweep_runs_total", outcome="ok", dry_run="true") == 1
    assert sample(samples, "statekeeper_sweep_runs_total", outcome="error", dry_run="false") == 1
    assert sample(samples, "statekeeper_sweep_last_duration_seconds") == 4
    assert sample(samples, "statekeeper_sweep_entities_total", action="inactivated") == 3


def test_bulk_operations_come_from_their_records(fresh_app):
    with fresh_app.app_context():
        db.session.add_all([
            BulkOperation(correlation_id="b1", operation_type="transition", actor="ada",
                          successful_items=8, failed_items=2),
            BulkOperation(correlation_id="b2", operation_type="transition", actor="ada",
                          state="failed", failed_items=5),
        ])
        db.session.commit()

    samples = scrape(fresh_app.test_client())

    assert sample(samples, "statekeeper_bulk_operations_total", operation_type="transition",
                  state="done") == 1
    assert sample(samples, "statekeeper_bulk_items_total", outcome="failed") == 7


def test_database_figures_are_reused_for_a_few_seconds(make_app):
    app = make_app(METRICS_CACHE_SECONDS=60, METRICS_TOKEN=METRICS_TOKEN)
    client = app.test_client()
    scrape(client)
    with app.app_context():
        db.session.add(BulkOperation(correlation_id="b1", operation_type="undo", actor="ada"))
        db.session.commit()

    assert sample(scrape(client), "statekeeper_bulk_operations_total",
                  operation_type="undo", state="done") == 0


def test_metrics_answer_404_while_no_token_is_set(app):
    # Entity counts by type and status are not for anonymous eyes (CONTRACT §2).
    assert app.config["METRICS_TOKEN"] is None
    assert app.test_client().get("/metrics").status_code == 404
    assert app.test_client().get("/metrics", headers=SCRAPER).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}",
                                           f"Bearer {METRICS_TOKEN}x"])
def test_metrics_need_the_token_once_one_is_set(fresh_app, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    refused = fresh_app.test_client().get("/metrics", headers=headers)

    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "statekeeper_" not in refused.text


def test_an_api_token_is_not_a_metrics_token(fresh_app):
    with fresh_app.app_context():
        token = make_token(db.session, make_user(db.session, role="admin"))

    answer = fresh_app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 401


# ------------------------------------------------------------------ logs


@pytest.fixture
def json_log():
    """Everything logged while the test runs, as parsed JSON lines."""
    stream = io.StringIO()
    handler = install_json_handler(stream)
    root = logging.getLogger()
    level, root.level = root.level, logging.INFO
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_each_request_logs_one_json_line_with_its_request_id(fresh_app, json_log):
    response = fresh_app.test_client().get("/healthz", headers={"X-Request-ID": "req-1"})

    [line] = [e for e in json_log() if e["logger"] == "statekeeper.access"]
    assert response.headers["X-Request-ID"] == "req-1"
    assert (line["request_id"], line["method"], line["path"], line["status"]) == (
        "req-1", "GET", "/healthz", 200)
    assert line["endpoint"] == "ops.healthz" and line["duration_ms"] >= 0
    assert line["level"] == "info" and line["ts"].endswith("+00:00")


def test_log_lines_of_a_change_carry_its_correlation_id(api, json_log):
    open_ticket(api)

    [line] = [e for e in json_log() if e.get("path", "").endswith("/transition")]
    assert line["correlation_id"] == "corr-123"


def test_log_lines_outside_requests_are_json_too(json_log):
    logging.getLogger("statekeeper.test").warning("sweep took %s s", 3, extra={"run_id": 7})

    [line] = json_log()
    assert line == {"ts": line["ts"], "level": "warning", "logger": "statekeeper.test",
                    "message": "sweep took 3 s", "run_id": 7}

"""Over-long requests under the real server `make run` starts (gunicorn with gunicorn.conf.py):
each is answered in the contract's JSON error shape, never gunicorn's HTML page."""
from __future__ import annotations

import http.client
import json

import pytest

from tests.live_server import AppProcess
from webapp.inputs import URL_MAX


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_sqlite):
    """One gunicorn process (the project's config and worker) on a migrated SQLite file."""
    home = tmp_path_factory.mktemp("gunicorn")
    database = home / "app.db"
    database.write_bytes(migrated_sqlite.read_bytes())
    env = {"DATABASE_URL": f"sqlite:///{database}", "STATEKEEPER_INSTANCE": str(home / "instance"),
           "SECRET_KEY": "gunicorn-limits"}
    with AppProcess(env, home / "gunicorn.log") as process:
        yield process


def get(server: AppProcess, path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def test_an_address_past_gunicorns_default_limit_reaches_the_app(server):
    status, kind, body = get(server, f"/api/v1/config?unused={'x' * 6000}")

    assert (status, kind) == (401, "application/json")  # the app's own answer: sign in
    assert json.loads(body)["error"] == "unauthorized"


def test_an_address_past_the_apps_limit_is_the_apps_414_in_the_contracts_shape(server):
    status, kind, body = get(server, f"/api/v1/entities?q={'x' * URL_MAX}")

    assert (status, kind) == (414, "application/json")
    assert json.loads(body)["error"] == "uri_too_long"


def test_a_request_line_past_gunicorns_limit_is_a_414_in_the_contracts_shape(server):
    status, kind, body = get(server, f"/api/v1/entities?q={'x' * 9000}")

    assert (status, kind) == (414, "application/json")
    assert json.loads(body) == {"error": "uri_too_long", "message": (
        "The address is longer than 8,190 bytes. Send long selections in a POST body instead.")}


def test_an_over_long_header_is_a_431_in_the_contracts_shape(server):
    status, kind, body = get(server, "/healthz", headers={"X-Padding": "x" * 9000})

    assert (status, kind) == (431, "application/json")
    assert json.loads(body)["error"] == "headers_too_large"

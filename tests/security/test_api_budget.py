"""A token has one API budget (STATEKEEPER_API_RATE_LIMIT), whichever routes it calls: the
ceiling is the documented limit, not the limit times the number of routes."""
from __future__ import annotations

import pytest

from tests.factories import load_packs, make_token, make_user
from webapp.extensions import db


@pytest.fixture
def headers(app) -> dict[str, str]:
    with app.app_context():
        load_packs(db.session)
        token = make_token(db.session, make_user(db.session, role="support"))
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.options(api_rate_limit="4 per minute")
def test_two_routes_draw_from_one_budget_per_token(client, headers):
    first = [client.get("/api/v1/me", headers=headers).status_code for _ in range(2)]
    second = [client.get("/api/v1/entities?type=ticket", headers=headers).status_code
              for _ in range(2)]

    refused = client.get("/api/v1/config", headers=headers)

    assert first + second == [200] * 4
    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert client.get("/api/v1/me", headers=headers).status_code == 429


@pytest.mark.options(api_rate_limit="4 per minute")
def test_the_headers_count_down_one_budget_across_routes(client, headers):
    remaining = [client.get(path, headers=headers).headers["X-RateLimit-Remaining"]
                 for path in ("/api/v1/me", "/api/v1/config", "/api/v1/entities?type=ticket")]

    assert remaining == ["3", "2", "1"]

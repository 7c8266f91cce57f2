"""Searches per user (from the settings) and API calls per token, with the standard headers."""
from __future__ import annotations

import pytest

from tests.factories import load_packs, make_token, make_user
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.extensions import db


@pytest.fixture
def search_limit(app, clock):
    """Allow three searches per user per five minutes (the setting), with packs loaded."""
    with app.app_context():
        load_packs(db.session)
        store = StateManager.get_instance().settings
        store.invalidate()  # the process's store may still hold another test's values
        with write_transaction(db.session):
            store.apply(db.session, {"search_rate_limit_per_5min": 3}, "test", clock())
    return 3


@pytest.fixture
def token_of(app):
    def _token_of(role: str = "support") -> dict[str, str]:
        with app.app_context():
            token = make_token(db.session, make_user(db.session, role=role))
        return {"Authorization": f"Bearer {token}"}

    return _token_of


def test_api_searches_past_the_setting_are_refused_with_429_and_retry_after(
        client, token_of, search_limit):
    headers = token_of()
    answers = [client.get("/api/v1/entities?type=ticket&q=leak", headers=headers)
               for _ in range(search_limit + 1)]

    assert [a.status_code for a in answers] == [200] * search_limit + [429]
    refused = answers[-1]
    assert refused.json["error"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    assert refused.headers["X-RateLimit-Limit"] == str(search_limit)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) > 0


def test_listing_without_a_search_does_not_use_the_search_budget(client, token_of, search_limit):
    headers = token_of()
    for _ in range(search_limit + 2):
        assert client.get("/api/v1/entities?type=ticket", headers=headers).status_code == 200

    assert client.get("/api/v1/entities?type=ticket&q=x", headers=headers).status_code == 200


def test_each_user_has_a_budget_of_their_own(client, token_of, search_limit):
    ann, bob = token_of(), token_of()
    for _ in range(search_limit):
        client.get("/api/v1/entities?type=ticket&q=leak", headers=ann)

    assert client.get("/api/v1/entities?type=ticket&q=leak", headers=ann).status_code == 429
    assert client.get("/api/v1/entities?type=ticket&q=leak", headers=bob).status_code == 200


def test_page_and_api_searches_share_one_budget_and_the_page_says_slow_down(
        app, login_as, search_limit):
    browser = login_as("support")
    for _ in range(search_limit):
        assert browser.get("/entities/?type=ticket&q=leak").status_code == 200

    page = browser.get("/entities/?type=ticket&q=leak")

    assert page.status_code == 429
    assert "Slow down" in page.text and "Wait a moment and try again." in page.text
    assert int(page.headers["Retry-After"]) > 0


def test_a_changed_setting_applies_without_a_restart(app, client, token_of, search_limit, clock):
    headers = token_of()
    with app.app_context(), write_transaction(db.session):
        StateManager.get_instance().settings.apply(
            db.session, {"search_rate_limit_per_5min": 5}, "test", clock())

    answers = [client.get("/api/v1/entities?type=ticket&q=a", headers=headers).status_code
               for _ in range(6)]

    assert answers == [200] * 5 + [429]


@pytest.mark.options(api_rate_limit="4 per minute")
def test_api_calls_are_limited_per_token(client, token_of):
    ann, bob = token_of("auditor"), token_of("auditor")
    answers = [client.get("/api/v1/me", headers=ann).status_code for _ in range(5)]

    assert answers == [200] * 4 + [429]
    assert client.get("/api/v1/me", headers=bob).status_code == 200


def test_api_answers_tell_the_caller_where_they_stand(client, token_of):
    response = client.get("/api/v1/me", headers=token_of())

    assert int(response.headers["X-RateLimit-Limit"]) > 0
    assert int(response.headers["X-RateLimit-Remaining"]) >= 0

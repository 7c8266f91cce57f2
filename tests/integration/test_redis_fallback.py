"""Search limits shared through a real Redis, and what happens when Redis goes away mid-run."""
from __future__ import annotations

import logging
import urllib.error
import urllib.request

import pytest
import redis

from tests.factories import load_packs, make_token, make_user
from tests.helpers import login
from tests.live_server import AppProcess
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.extensions import db

pytestmark = pytest.mark.redis


def get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # a busy CI machine
            return response.status
    except urllib.error.HTTPError as err:
        with err:
            return err.code


@pytest.fixture
def shared_database(make_app, clock):
    """A migrated database with the packs, a support token and a search limit of 3."""
    app = make_app()
    with app.app_context():
        load_packs(db.session)
        token = make_token(db.session, make_user(db.session, role="support"))
        store = StateManager.get_instance().settings
        store.invalidate()
        with write_transaction(db.session):
            store.apply(db.session, {"search_rate_limit_per_5min": 3}, "test", clock())
    return app.config["SQLALCHEMY_DATABASE_URI"], token


def test_two_instances_sharing_redis_count_one_search_budget(shared_database, redis_server,
                                                            tmp_path):
    database_url, token = shared_database
    redis.Redis.from_url(redis_server.url).flushall()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url,
           "SECRET_KEY": "shared-by-both", "STATEKEEPER_INSTANCE": str(tmp_path / "instance")}
    with AppProcess(env, tmp_path / "a.log") as a, AppProcess(env, tmp_path / "b.log") as b:
        answers = [get(f"{(a, b)[i % 2].url}/api/v1/entities?type=ticket&q=leak", token)
                   for i in range(4)]

    # Each instance saw two searches: only a count shared through Redis reaches the limit of 3.
    assert answers == [200, 200, 200, 429]


def test_limits_fall_back_to_this_process_when_redis_stops_and_a_warning_is_logged(
        make_app, throwaway_redis, caplog):
    app = make_app(REDIS_URL=throwaway_redis.url, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    assert login(client, "nobody", "guess-number-1").status_code == 401  # counted in Redis

    throwaway_redis.kill()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        answers = [login(client, "nobody", "guess-number-1").status_code for _ in range(4)]

    # The in-process count starts afresh: three more attempts, then the limit holds.
    assert answers == [401, 401, 401, 429]
    assert "falling back to in-memory storage" in caplog.text


def test_while_redis_is_down_pages_and_searches_are_served_and_readyz_explains(
        make_app, throwaway_redis, caplog):
    app = make_app(REDIS_URL=throwaway_redis.url)
    with app.app_context():
        load_packs(db.session)
        token = make_token(db.session, make_user(db.session, role="support"))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    throwaway_redis.kill()
    with caplog.at_level(logging.WARNING):
        search = client.get("/api/v1/entities?type=ticket&q=leak", headers=headers)
        ready = client.get("/readyz")

    assert search.status_code == 200
    assert ready.status_code == 503
    assert ready.json["rate_limits"] == "in-process"
    assert "Redis is unreachable" in ready.json["warnings"][0]
    assert "not ready: database ok, redis error" in caplog.text


def test_readyz_says_limits_are_shared_while_redis_is_up(make_app, redis_server):
    response = make_app(REDIS_URL=redis_server.url).test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json["rate_limits"] == "redis"
    assert "warnings" not in response.json

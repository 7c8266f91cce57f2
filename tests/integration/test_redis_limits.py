"""Rate limits and readiness with a real Redis (started by the suite)."""
from __future__ import annotations

import pytest
import redis

from tests.factories import PASSWORD, make_user
from tests.helpers import login
from tests.live_server import AppProcess, HttpBrowser
from webapp.extensions import db

pytestmark = pytest.mark.redis


@pytest.fixture
def two_instances(make_app, redis_server, tmp_path):
    """Two gunicorn processes on one database and one Redis, allowing 4 sign-ins a minute."""
    redis.Redis.from_url(redis_server.url).flushall()
    env = {
        "DATABASE_URL": make_app().config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": "shared-by-both-instances",
        "STATEKEEPER_INSTANCE": str(tmp_path / "instance"),
        "STATEKEEPER_LOGIN_RATE_LIMIT": "4 per minute",
    }
    a, b = AppProcess(env, tmp_path / "a.log"), AppProcess(env, tmp_path / "b.log")
    a.start()
    b.start()  # both boot at once
    with a, b:
        yield a, b


def test_instances_sharing_redis_enforce_one_combined_sign_in_limit(two_instances, redis_server):
    browsers = [HttpBrowser(instance.url) for instance in two_instances]

    answers = [browsers[i % 2].sign_in("nobody", "guess-number-1") for i in range(5)]

    # Neither instance alone saw more than 3 of the 4 allowed: only a shared count says 429.
    assert [status for status, _, _ in answers] == [401, 401, 401, 401, 429]
    assert int(answers[-1][1]["Retry-After"]) > 0
    assert redis.Redis.from_url(redis_server.url).keys("LIMITS*")


def test_readiness_reports_redis_going_away(make_app, throwaway_redis):
    client = make_app(REDIS_URL=throwaway_redis.url).test_client()
    assert client.get("/readyz").status_code == 200

    throwaway_redis.kill()
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json["checks"]["redis"].startswith("error")
    assert response.json["checks"]["database"] == "ok"


def test_signing_in_still_works_while_redis_is_down(make_app, throwaway_redis):
    app = make_app(REDIS_URL=throwaway_redis.url)
    with app.app_context():
        make_user(db.session, username="dana")
    throwaway_redis.kill()

    assert login(app.test_client(), "dana", PASSWORD).status_code == 302

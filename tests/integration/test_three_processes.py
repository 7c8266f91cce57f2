"""Three gunicorn processes on one PostgreSQL and one Redis behave as one Statekeeper.

The deployment of docs/operations.md in miniature: every process runs the background workers
(STATEKEEPER_BACKGROUND=1) and checks every 0.2 s whether a sweep is due. Shown together, in one
test, because starting three servers is the expensive part:
1. one sweep per interval across the three, and no entity inactivated twice;
2. the sign-in rate limit counts the attempts of all three together;
3. a settings change made through one process is in force in the others within 2 seconds;
4. each event reaches each webhook subscriber exactly once (no crash here, so no redelivery)
   and nothing is left in the outbox.
Waiting here is for real processes (polling with deadlines); no logic under test reads a clock
the test controls.
"""
from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, insert, select, text

from tests.factories import (
    Receiver,
    load_packs,
    make_receiver,
    make_subscription,
    make_token,
    make_user,
)
from tests.live_server import AppProcess, HttpBrowser
from webapp.core.changes import counts
from webapp.extensions import db
from webapp.models import Entity, OutboxEvent, StatusChange, SweepRun, WebhookDelivery, utcnow

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ACTIVE, QUIET, LATE_QUIET = 240, 60, 30
SIGN_INS_ALLOWED = 5
CHECK_SECONDS = 0.2


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.05
             ) -> object:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
    return result


def api(base: str, token: str, method: str, path: str, payload: object = None
        ) -> tuple[int, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"{}")


class Deployment:
    """What the test sees of the deployment: the database (through a test app) and the URLs."""

    def __init__(self, app, urls: list[str], token: str, receivers: dict[str, Receiver],
                 quiet: set[int], active: list[int]) -> None:
        self.app, self.urls, self.token, self.receivers = app, urls, token, receivers
        #: Reps quiet past their grace period (due), and recently active ones.
        self.quiet, self.active = quiet, active

    def scalar(self, stmt):
        with self.app.app_context():
            return db.session.scalar(stmt)

    def rows(self, stmt) -> list:
        with self.app.app_context():
            return list(db.session.execute(stmt).all())

    def finished_runs(self) -> list[SweepRun]:
        with self.app.app_context():
            rows = db.session.scalars(select(SweepRun).order_by(SweepRun.id)).all()
            db.session.expunge_all()
            return list(rows)


def seed(app, token_holder: list[str]) -> tuple[set[int], list[int]]:
    """Packs, an admin token, ACTIVE recently active and QUIET long-quiet sales reps."""
    now = utcnow()
    with app.app_context():
        load_packs(db.session)
        token_holder.append(make_token(db.session, make_user(db.session, "admin", "ops")))
        active = insert_reps("Active rep", ACTIVE, now - timedelta(days=1))
        quiet = set(insert_reps("Quiet rep", QUIET, now - timedelta(days=70)))
    return quiet, active


def insert_reps(name: str, count: int, last_activity) -> list[int]:
    """Sales reps inserted set-based (the sweep reads only the entity rows); committed."""
    now = utcnow()
    rows = [{"type": "sales_rep", "name": f"{name} {i}", "status": "active", "data": {},
             "last_activity_at": last_activity, "status_changed_at": last_activity,
             "created_at": last_activity, "updated_at": now} for i in range(count)]
    ids = list(db.session.scalars(insert(Entity).returning(Entity.id), rows))
    counts.added(db.session, rows)
    db.session.commit()
    return ids


@pytest.fixture
def deployment(make_app, postgres_server, redis_server, tmp_path) -> Iterator[Deployment]:
    url = postgres_server.create_database(f"three_{uuid.uuid4().hex[:12]}")
    app = make_app(url)  # migrated by the real migrations (flask_migrate.upgrade)
    redis.Redis.from_url(redis_server.url).flushall()
    token: list[str] = []
    quiet, active = seed(app, token)
    receivers = {"all": make_receiver(), "status": make_receiver()}
    with app.app_context():
        make_subscription(db.session, url=receivers["all"].url, event_types=["*"])
        make_subscription(db.session, url=receivers["status"].url, event_types=["StatusChanged"])
    env = {
        "DATABASE_URL": url, "REDIS_URL": redis_server.url,
        "SECRET_KEY": "shared-by-all-three", "STATEKEEPER_INSTANCE": str(tmp_path / "instance"),
        "STATEKEEPER_LOGIN_RATE_LIMIT": f"{SIGN_INS_ALLOWED} per minute",
        "STATEKEEPER_API_RATE_LIMIT": "100000 per minute",
        "STATEKEEPER_SWEEP_CHECK_SECONDS": str(CHECK_SECONDS),
        "STATEKEEPER_WEBHOOK_ALLOW_PRIVATE": "1",  # the receivers listen on loopback
    }
    processes = [AppProcess(env, tmp_path / f"{name}.log") for name in "abc"]
    for process in processes:
        process.env["STATEKEEPER_BACKGROUND"] = "1"  # AppProcess turns it off by default
        process.start()  # all three boot (and race for the first sweep) at once
    with ExitStack() as stack:
        for process in processes:
            stack.enter_context(process)
        yield Deployment(app, [p.url for p in processes], token[0], receivers, quiet, active)
        for process in processes:  # all at once; each __exit__ then waits for its own
            process.proc.send_signal(signal.SIGINT)
    for receiver in receivers.values():
        receiver.close()


def test_three_processes_on_one_postgres_and_redis_act_as_one(deployment):
    d = deployment
    first = one_sweep_per_interval_and_no_entity_swept_twice(d)
    sign_ins_are_limited_across_all_three(d)
    latencies = a_settings_change_is_seen_everywhere_within_two_seconds(d)
    api_changes_on_all_three(d)
    each_event_reaches_each_subscriber_exactly_once(d)
    print(f"\nfirst sweep {first}; settings seen after {latencies}")


def one_sweep_per_interval_and_no_entity_swept_twice(d: Deployment) -> str:
    wait_for(lambda: [r for r in d.finished_runs() if r.finished_at], 30, "the first sweep")
    time.sleep(10 * CHECK_SECONDS)  # every process has checked again several times since
    runs = d.finished_runs()
    assert len(runs) == 1 and runs[0].inactivated == QUIET and runs[0].error is None

    # More reps go quiet, and the interval passes (the record is moved back by one interval,
    # which is what 60 minutes of waiting would do): exactly one more sweep, by one process.
    with d.app.app_context():
        late = set(insert_reps("Late rep", LATE_QUIET, utcnow() - timedelta(days=70)))
        db.session.execute(text("UPDATE sweep_runs SET started_at = started_at - interval "
                                "'61 minutes', finished_at = finished_at - interval '61 minutes'"))
        db.session.commit()
    wait_for(lambda: len([r for r in d.finished_runs() if r.finished_at]) == 2, 30,
             "the second sweep")
    time.sleep(10 * CHECK_SECONDS)
    runs = d.finished_runs()
    assert [r.inactivated for r in runs] == [QUIET, LATE_QUIET]
    assert [r.error for r in runs] == [None, None]
    assert runs[0].finished_at <= runs[1].started_at

    swept = Counter(e for (e,) in d.rows(select(StatusChange.entity_id)
                                         .where(StatusChange.source == "sweep")))
    assert set(swept) == d.quiet | late
    assert set(swept.values()) == {1}
    return f"{(runs[0].finished_at - runs[0].started_at).total_seconds():.2f} s"


def sign_ins_are_limited_across_all_three(d: Deployment) -> None:
    browsers = [HttpBrowser(url) for url in d.urls]

    answers = [browsers[i % 3].sign_in("nobody", f"guess-{i}") for i in range(SIGN_INS_ALLOWED + 1)]

    # Each process saw at most 2 of the 5 allowed: only the count shared in Redis says 429.
    assert [status for status, _, _ in answers] == [401] * SIGN_INS_ALLOWED + [429]


def a_settings_change_is_seen_everywhere_within_two_seconds(d: Deployment) -> list[str]:
    key = "search_rate_limit_per_5min"
    for url in d.urls:  # every process has the old value cached: the slowest case
        assert api(url, d.token, "GET", "/api/v1/config")[1][key]["value"] == 100
    status, body = api(d.urls[0], d.token, "PATCH", "/api/v1/config", {key: 150})
    changed = time.monotonic()
    assert status == 200 and body[key]["value"] == 150

    # When did B and C first answer with the new value? (the time the asking request was sent:
    # from then on that process serves the new value)
    seen_after: dict[str, float] = {}
    deadline = changed + 5
    while len(seen_after) < 2 and time.monotonic() < deadline:
        for url in d.urls[1:]:
            sent = time.monotonic()
            if url not in seen_after and value_at(d, url, key) == 150:
                seen_after[url] = sent - changed
        time.sleep(0.01)
    assert len(seen_after) == 2 and max(seen_after.values()) < 2.0, seen_after
    return [f"{s:.2f} s" for s in seen_after.values()]


def value_at(d: Deployment, url: str, key: str) -> object:
    status, body = api(url, d.token, "GET", "/api/v1/config")
    assert status == 200, body
    return body[key]["value"]


def api_changes_on_all_three(d: Deployment) -> None:
    for i, entity_id in enumerate(d.active[:30]):
        status, body = api(d.urls[i % 3], d.token, "POST",
                           f"/api/v1/entities/{entity_id}/transition", {"to": "inactive"})
        assert status == 200, body
    for i in range(15):
        status, body = api(d.urls[i % 3], d.token, "POST", "/api/v1/entities",
                           {"type": "sales_rep", "name": f"New rep {i}"})
        assert status == 201, body


def each_event_reaches_each_subscriber_exactly_once(d: Deployment) -> None:
    def settled() -> bool:
        pending = d.scalar(select(func.count()).select_from(OutboxEvent)
                           .where(OutboxEvent.state != "delivered"))
        unsent = d.scalar(select(func.count()).select_from(WebhookDelivery)
                          .where(WebhookDelivery.state != "delivered"))
        return pending == 0 and unsent == 0
    wait_for(settled, 40, "every event delivered")

    events = d.rows(select(OutboxEvent.idempotency_key, OutboxEvent.event_type))
    expected = {"all": {k for k, _ in events},
                "status": {k for k, t in events if t == "StatusChanged"}}
    assert len(expected["status"]) >= QUIET + LATE_QUIET + 30
    for name, receiver in d.receivers.items():
        got = Counter(h["X-Statekeeper-Idempotency-Key"] for h, _ in receiver.requests)
        assert set(got) == expected[name], name
        assert set(got.values()) == {1}, f"{name}: some event arrived twice"

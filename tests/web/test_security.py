"""What protects the app: CSRF, sessions, tokens, headers, error pages, rate limits."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from tests.factories import PASSWORD, make_token, make_user
from tests.helpers import login
from webapp.extensions import db
from webapp.models import AuditEntry
from webapp.permissions import PUBLIC, requires

# ------------------------------------------------------------------ CSRF


def test_a_form_post_without_its_csrf_token_is_refused_with_400(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    response = client.post("/login", data={"username": "dana", "password": PASSWORD})

    assert response.status_code == 400
    assert "Reload the page and try again." in response.text
    assert client.get("/").status_code == 302


def test_an_api_post_from_a_browser_session_needs_the_csrf_header(admin_client):
    response = admin_client.post("/api/v1/me")

    assert response.status_code == 400
    assert response.json["error"] == "invalid_input"


def test_htmx_requests_send_the_csrf_token_the_page_put_in_its_header(admin_client):
    page = admin_client.get("/").text
    headers = json.loads(re.search(r"hx-headers='([^']+)'", page).group(1))

    response = admin_client.post("/logout", headers=headers)

    assert response.status_code == 302
    assert admin_client.get("/").status_code == 302


# ------------------------------------------------------------------ sessions


def test_anonymous_visitors_are_sent_to_sign_in_and_back(client):
    response = client.get("/?view=recent")
    location = urlsplit(response.headers["Location"])

    assert response.status_code == 302
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/?view=recent"]}


def test_every_page_is_closed_to_anonymous_visitors(app, client):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        public = getattr(view, "required_capability", None) == PUBLIC
        if public or rule.arguments or "GET" not in rule.methods:
            continue
        if rule.rule.startswith("/api/"):
            assert client.get(rule.rule).status_code == 401, rule.rule
        else:
            assert client.get(rule.rule).headers["Location"].startswith("/login?next="), rule.rule


def test_every_view_declares_who_may_use_it(app):
    undeclared = [endpoint for endpoint, view in app.view_functions.items()
                  if endpoint != "static" and not hasattr(view, "required_capability")]

    assert undeclared == []


def test_the_session_cookie_is_hidden_from_scripts_and_other_sites(app, client):
    with app.app_context():
        make_user(db.session, username="dana")

    cookie = login(client, "dana", PASSWORD).headers["Set-Cookie"]

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_signing_in_starts_a_new_session_so_a_planted_cookie_stays_anonymous(app, client):
    with app.app_context():
        make_user(db.session, username="dana")
    client.get("/login")
    planted = client.get_cookie("session").value

    login(client, "dana", PASSWORD)
    attacker = app.test_client()
    attacker.set_cookie("session", planted)

    assert client.get_cookie("session").value != planted
    assert client.get("/").status_code == 200
    assert attacker.get("/").status_code == 302


# ------------------------------------------------------------------ API tokens


def test_the_api_without_a_token_answers_401_in_json(client):
    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.json["message"]


def test_the_api_refuses_an_unknown_token(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer sk_not-a-real-token"})

    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_the_api_knows_who_a_good_token_belongs_to(app, client):
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role="auditor", username="ann"))

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json == {"username": "ann", "role": "auditor"}


def test_a_token_of_a_disabled_user_is_refused(app, client):
    with app.app_context():
        user = make_user(db.session, username="ann")
        token = make_token(db.session, user)
        user.is_enabled = False
        db.session.commit()

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401


def test_bearer_posts_need_no_csrf_token(app, client):
    with app.app_context():
        token = make_token(db.session, make_user(db.session, username="ann"))

    # /me takes no POST: a 405 shows the request got past CSRF to the route itself.
    response = client.post("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"


def test_a_stray_session_cookie_does_not_hide_a_good_token(app, client):
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role="auditor", username="ann"))
    client.get("/login")  # a cookie with only a CSRF token in it

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_a_token_speaks_for_its_owner_even_in_a_signed_in_browser(app, admin_client):
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role="auditor", username="ann"))

    response = admin_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.json["username"] == "ann"


def test_tokens_are_stored_only_as_hashes(app):
    with app.app_context():
        token = make_token(db.session, make_user(db.session, username="ann"))
        stored = db.session.execute(text("SELECT token_hash FROM api_tokens")).scalar_one()

    assert token not in stored
    assert len(stored) == 64


# ------------------------------------------------------------------ headers


def test_pages_carry_a_strict_content_security_policy_and_frame_denial(admin_client):
    headers = admin_client.get("/").headers

    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_scripts_or_styles(admin_client, client):
    for page in (admin_client.get("/").text, client.get("/login").text):
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert "<style" not in page and " style=" not in page
        assert not re.search(r"\son[a-z]+=", page)


def test_static_files_may_be_cached(client):
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")


# ------------------------------------------------------------------ error pages


def test_an_unknown_page_shows_the_not_found_page(admin_client):
    response = admin_client.get("/no/such/page")

    assert response.status_code == 404
    assert "Not found" in response.text
    assert "Back to the dashboard" in response.text


def test_an_unknown_api_route_answers_404_in_json(client):
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json["error"] == "not_found"


@pytest.fixture
def broken_app(make_app):
    """An app with one extra page that fails the way a bug would."""
    app = make_app()

    def explode():
        raise RuntimeError("secret internals")

    explode.required_capability = PUBLIC
    app.add_url_rule("/explode", view_func=explode)
    app.add_url_rule("/api/v1/explode", endpoint="api_explode", view_func=explode)
    return app


def test_an_unexpected_error_shows_a_plain_500_page_without_internals(broken_app):
    response = broken_app.test_client().get("/explode")

    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret internals" not in response.text


def test_an_unexpected_api_error_answers_500_in_json(broken_app):
    response = broken_app.test_client().get("/api/v1/explode")

    assert response.status_code == 500
    assert response.json["error"] == "internal_error"
    assert "secret internals" not in response.text


@pytest.fixture
def guarded_app(make_app):
    """An app with one page and one API route that only admins may use."""
    app = make_app()
    secret = requires("manage_users")(lambda: "the admin page")
    app.add_url_rule("/admin-only", "admin_only", secret)
    app.add_url_rule("/api/v1/admin-only", "api_admin_only", secret)
    return app


def denials(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return db.session.execute(
            select(AuditEntry.actor, AuditEntry.message, AuditEntry.risk)
            .where(AuditEntry.event_type == "permission.denied").order_by(AuditEntry.id)).all()


def signed_in(app, role: str):
    with app.app_context():
        username = make_user(db.session, role=role).username
    browser = app.test_client()
    login(browser, username, PASSWORD)
    return browser, username


def test_a_refused_page_answers_403_says_so_and_is_audited(guarded_app):
    browser, username = signed_in(guarded_app, "support")

    response = browser.get("/admin-only")

    assert response.status_code == 403
    assert "Your role (support) may not do this." in response.text
    assert denials(guarded_app) == [(username, "GET /admin-only needs manage_users", "low")]


def test_a_refused_api_call_answers_403_in_json_and_is_audited(guarded_app):
    with guarded_app.app_context():
        token = make_token(db.session, make_user(db.session, role="auditor", username="ann"))

    response = guarded_app.test_client().get(
        "/api/v1/admin-only", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert [actor for actor, _, _ in denials(guarded_app)] == ["ann"]


def test_repeated_refusals_raise_the_risk_of_the_audit_entry(guarded_app):
    browser, _ = signed_in(guarded_app, "config_editor")

    for _ in range(4):
        browser.get("/admin-only")

    assert [risk for _, _, risk in denials(guarded_app)] == ["low", "low", "low", "medium"]


def test_the_permitted_role_gets_the_page(guarded_app):
    browser, _ = signed_in(guarded_app, "admin")

    assert browser.get("/admin-only").text == "the admin page"


# ------------------------------------------------------------------ rate limits


@pytest.mark.options(login_rate_limit="3 per minute")
def test_sign_in_attempts_are_rate_limited_with_retry_after(client):
    for _ in range(3):
        assert login(client, "nobody", "guess-number-1").status_code == 401

    response = login(client, "nobody", "guess-number-1")

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Slow down" in response.text


@pytest.mark.options(login_rate_limit="3 per minute")
def test_the_rate_limit_counts_posts_only_so_the_sign_in_page_still_loads(client):
    for _ in range(4):
        login(client, "nobody", "guess-number-1")

    assert client.get("/login").status_code == 200

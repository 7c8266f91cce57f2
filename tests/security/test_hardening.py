"""Headers on every page, no inline code, request ids, and how the API treats strangers."""
from __future__ import annotations

import re

import pytest

from tests.factories import make_token, make_user
from webapp.extensions import db
from webapp.permissions import PUBLIC

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def signed_in_pages(app) -> list[str]:
    """Every GET page without path arguments that a signed-in admin may open."""
    pages = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or rule.arguments or "GET" not in rule.methods:
            continue
        if getattr(view, "required_capability", None) != PUBLIC:
            pages.append(rule.rule)
    return sorted(pages)


def test_every_signed_in_page_and_api_answer_carries_the_security_headers(app, admin_client):
    for path in signed_in_pages(app):
        headers = admin_client.get(path).headers
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, f"{path}: {name}"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path


def test_error_pages_carry_the_headers_too(admin_client, client):
    for response in (admin_client.get("/no/such/page"), client.get("/api/v1/audit")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/audit/", "/users/"])
def test_the_audit_and_user_pages_have_no_inline_script_style_or_handlers(admin_client, path):
    page = admin_client.get(path).text

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)


# ------------------------------------------------------------------ request ids


def test_each_answer_carries_a_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_callers_request_id_is_kept_when_it_is_sane(client):
    response = client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"})

    assert response.headers["X-Request-ID"] == "trace-42.a:b"


@pytest.mark.parametrize("bad", ["<script>", "a" * 200, "line\\nbreak", "x y"])
def test_a_strange_request_id_is_replaced_not_echoed(client, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_requests_refused_before_their_view_still_get_an_id(client):
    response = client.post("/login", data={"username": "x", "password": "y"})  # no CSRF token

    assert response.status_code == 400
    assert response.headers["X-Request-ID"]


# ------------------------------------------------------------------ strangers on the API


def test_a_script_without_a_token_gets_401_when_it_tries_a_change(client):
    """Not CSRF's 400: with nobody signed in there is no session to forge."""
    response = client.post("/api/v1/entities", json={"type": "ticket", "name": "x"})

    assert response.status_code == 401


def test_a_good_token_works_even_when_an_anonymous_session_cookie_comes_along(app, client):
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role="auditor"))
    client.get("/login")  # leaves a session cookie holding only a CSRF token

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200

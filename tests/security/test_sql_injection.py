"""SQL fragments typed into searches and filters are only ever text to look for."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from tests.factories import load_packs, make_token, make_user
from tests.helpers import login
from webapp.core.base.actor import SYSTEM
from webapp.extensions import db
from webapp.models import AuditEntry, Entity, User

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE entities; --",
    '" OR 1=1 --',
    "%' UNION SELECT username, password_hash FROM users --",
    "1) OR (1=1",
    "leak%' AND 1=1 AND '%'='",
    "*) OR entities MATCH '*",
]


@pytest.fixture
def world(app):
    """Three tickets and an admin token; returns the token's headers."""
    with app.app_context():
        manager = load_packs(db.session)
        for name in ("Leaky tap", "Broken door", "Cold radiator"):
            manager.create_entity(db.session, SYSTEM, type="ticket", name=name,
                                  data={"priority": "MEDIUM"})
        token = make_token(db.session, make_user(db.session, role="admin", username="root"))
    return {"Authorization": f"Bearer {token}"}


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Entity, User, AuditEntry))


@pytest.mark.parametrize("text", INJECTIONS)
def test_an_injection_in_the_api_search_and_filters_finds_nothing_extra(app, client, world, text):
    before = counts(app)

    searched = client.get(f"/api/v1/entities?type=ticket&q={quote(text)}", headers=world)
    by_status = client.get(f"/api/v1/entities?type=ticket&status={quote(text)}", headers=world)
    by_type = client.get(f"/api/v1/entities?type={quote(text)}", headers=world)

    assert searched.status_code == 200
    assert len(searched.json["items"]) < 3  # at most a fuzzy match on a word, never "all rows"
    assert (by_status.status_code, by_status.json["items"]) == (200, [])
    assert by_type.status_code in (200, 400) and by_type.json.get("items", []) == []
    assert "$argon2" not in searched.text
    assert counts(app)[:2] == before[:2]


@pytest.mark.parametrize("text", INJECTIONS)
def test_an_injection_in_the_audit_filters_matches_no_entry(app, client, world, text):
    query = "&".join(f"{key}={quote(text)}" for key in
                     ("actor", "event_type", "object_id", "object_type", "correlation_id"))

    response = client.get(f"/api/v1/audit?{query}", headers=world)

    assert (response.status_code, response.json["items"]) == (200, [])


@pytest.mark.parametrize("text", INJECTIONS[:3])
def test_injections_in_the_pages_search_boxes_are_harmless(app, world, text):
    browser = app.test_client()
    with app.app_context():
        make_user(db.session, role="admin", username="ada")
    login(browser, "ada", "correct-horse-42")
    before = counts(app)

    pages = [f"/audit/?actor={quote(text)}"]
    if "entities.index" in app.view_functions:
        pages.append(f"/entities/?type=ticket&q={quote(text)}")

    for page in pages:
        assert browser.get(page).status_code == 200, page
    assert counts(app)[:2] == before[:2]


def test_an_injection_as_a_username_at_sign_in_is_just_a_wrong_name(app, client, world):
    response = login(client, "root' --", "anything-at-all-1")

    assert response.status_code == 401
    assert "Wrong username or password." in response.text

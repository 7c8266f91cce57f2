"""The same migrations and sign-in on a real PostgreSQL server (started by the suite)."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD, load_packs, make_token, make_user
from tests.helpers import differences_from_models, login, nav_labels, upgrade_downgrade_upgrade
from tests.test_migrations import a_user_from_before_session_versions_signs_in_after_the_upgrade
from webapp.extensions import db
from webapp.models import Base

pytestmark = pytest.mark.postgres


def test_migrations_upgrade_downgrade_to_nothing_and_upgrade_again_on_postgres(
        make_app, postgres_server):
    app = make_app(postgres_server.create_database("roundtrip"), migrate=False)

    head, base, again = upgrade_downgrade_upgrade(app)

    assert set(Base.metadata.tables) <= set(head)
    assert set(base) == {"alembic_version"}
    assert again == head


def test_users_from_before_session_versions_sign_in_after_the_upgrade_on_postgres(
        make_app, postgres_server):
    app = make_app(postgres_server.create_database("before_versions"), migrate=False)

    a_user_from_before_session_versions_signs_in_after_the_upgrade(app)


def test_the_migrations_build_exactly_what_the_models_declare_on_postgres(pg_app):
    with pg_app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert differences_from_models(db.engine) == []


def test_signing_in_works_on_postgres(pg_app):
    with pg_app.app_context():
        make_user(db.session, role="auditor", username="ann")
    browser = pg_app.test_client()

    assert login(browser, "ann", PASSWORD).status_code == 302
    assert nav_labels(browser.get("/").text)[0] == "Dashboard"


def test_repeated_wrong_passwords_lock_the_account_on_postgres(pg_app):
    with pg_app.app_context():
        make_user(db.session, username="ann")
    browser = pg_app.test_client()

    for _ in range(pg_app.config["LOGIN_MAX_FAILURES"]):
        login(browser, "ann", "guess-number-1")

    response = login(browser, "ann", PASSWORD)  # the right password, refused while locked
    assert response.status_code == 401 and "Wrong username or password." in response.text


#: Just past PostgreSQL's integer ids, and far past them (SQLite would still store this one).
TOO_LARGE = [2**31, 2**62]
ID_ADDRESSES = ["/entities/{}", "/entities/{}/timeline", "/entities/?type=community&parent_id={}",
                "/users/{}", "/audit/{}", "/events/deliveries?before={}",
                "/api/v1/entities/{}", "/api/v1/entities/{}/history",
                "/api/v1/entities?type=community&parent_id={}"]


@pytest.mark.parametrize("too_large", TOO_LARGE)
def test_ids_beyond_what_postgres_stores_are_refused_as_input_not_a_500(pg_app, too_large):
    with pg_app.app_context():
        load_packs(db.session)
        admin = make_user(db.session, role="admin", username="ann")
        token = make_token(db.session, admin)
    browser = pg_app.test_client()
    login(browser, "ann", PASSWORD)
    bearer = {"Authorization": f"Bearer {token}"}

    answers = {address: (browser.get(address.format(too_large), headers=bearer
                                     if address.startswith("/api") else None)).status_code
               for address in ID_ADDRESSES}

    assert {a: s for a, s in answers.items() if s not in (200, 400, 404)} == {}
    assert answers["/entities/{}"] == answers["/api/v1/entities/{}"] == 404

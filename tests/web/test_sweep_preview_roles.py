"""One rule for a sweep's dry run: it changes nothing, so every role may see it, on the page as
through the API (CONTRACT §4: seeing configuration is for everyone); only operators run one."""
from __future__ import annotations

import pytest

from tests.factories import load_packs, make_token, make_user
from tests.helpers import csrf_token
from webapp.extensions import db
from webapp.models import ROLES

OPERATORS = {"admin", "support"}


@pytest.mark.parametrize("role", ROLES)
def test_the_page_and_the_api_agree_on_who_may_preview_and_who_may_run(app, login_as, role):
    with app.app_context():
        load_packs(db.session)
        token = make_token(db.session, make_user(db.session, role=role))
    api = {"Authorization": f"Bearer {token}"}
    browser = login_as(role)

    page = browser.get("/sweeps/preview")
    dry_run = app.test_client().post("/api/v1/sweeps/run", json={"dry_run": True}, headers=api)

    assert (page.status_code, dry_run.status_code) == (200, 200)
    assert ("Run the sweep now" in page.text) == (role in OPERATORS)
    assert "Preview a sweep now" in browser.get("/sweeps/").text
    run = browser.post("/sweeps/run", data={"csrf_token": csrf_token(page.text)})
    real = app.test_client().post("/api/v1/sweeps/run", json={"dry_run": False}, headers=api)
    assert (run.status_code, real.status_code) == ((302, 200) if role in OPERATORS else (403, 403))

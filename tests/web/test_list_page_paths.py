"""The entity list's hot paths (issue 20, "List page under load"): the links it builds without
url_for per link, the field columns read alone, the rows written by the view, the navigation
kept per role."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import html
import re

from flask import url_for

from tests.factories import make_entity
from tests.helpers import csrf_token
from tests.web.entities_fixtures import SEEDER, fresh_state_manager, sm  # noqa: F401 - fixtures
from webapp.extensions import db

SORT_LINK = re.compile(r'<a href="([^"]+)" hx-get="[^"]+"[^>]*>Name')


def test_sort_links_keep_every_filter_as_url_for_writes_them(app, admin_client, sm):
    with app.app_context():
        make_entity(sm, db.session, SEEDER, "builder", "Summit & Sons, Ltd.")
    query = "type=builder&q=Summit+%26+Sons&status=active&quiet_days=0"

    page = admin_client.get(f"/entities/?{query}").text
    link = html.unescape(SORT_LINK.search(page).group(1))

    with app.test_request_context():
        expected = url_for("entities.index", status="active", q="Summit & Sons",
                           quiet_days="0", type="builder", sort="name")
    assert link == expected


def test_a_sensitive_column_is_masked_for_a_role_that_may_not_operate(app, sm, login_as):
    with app.app_context():
        builder = make_entity(sm, db.session, SEEDER, "builder", "Harbour Homes")
        make_entity(sm, db.session, SEEDER, "sales_rep", "Dana Reyes", parent_id=builder.id,
                    data={"email": "dana@example.com", "phone": "+15550100200"})
    for role, shown in (("auditor", "••••0200"), ("admin", "+15550100200")):
        browser = login_as(role)
        page = browser.get("/entities/?type=sales_rep").text
        browser.post("/entities/columns", data={"csrf_token": csrf_token(page),
                                                "type": "sales_rep", "columns": ["email", "phone"]})

        row = browser.get("/entities/?type=sales_rep").text

        assert shown in row and "dana@example.com" in row
        if role == "auditor":
            assert "+15550100200" not in row


def test_a_field_an_entity_lacks_is_an_empty_cell(app, admin_client, sm):
    with app.app_context():
        builder = make_entity(sm, db.session, SEEDER, "builder", "Harbour Homes")
        ridge = make_entity(sm, db.session, SEEDER, "community", "Maple Ridge", parent_id=builder.id)
        make_entity(sm, db.session, SEEDER, "property", "Cottage", parent_id=ridge.id,
                    data={"address": "Cottage Road 1"})

    page = admin_client.get("/entities/?type=property").text

    row = re.search(r"<tr><td class=\"check\">.*?Cottage Road 1</td>(.*?)</tr>", page).group(1)
    assert row.startswith('<td class="num"></td>')  # the price: none given


def test_the_navigation_is_each_roles_own(login_as):
    admin, support = login_as("admin"), login_as("support")

    for _ in range(2):  # the second time from what the process kept
        assert 'href="/users/"' in admin.get("/entities/").text
        assert 'href="/users/"' not in support.get("/entities/").text
        assert 'href="/audit/"' not in support.get("/entities/").text

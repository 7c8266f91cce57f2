"""The entity list: filters, typo-tolerant search, sorting, keyset pages, bulk hand-over, CSV."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.factories import PASSWORD, make_realestate, make_user
from tests.helpers import login
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    HTMX,
    SEEDER,
    create,
    estate,
    fresh_state_manager,
    sm,
)
from webapp.blueprints.entities import lists
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.lists import listing
from webapp.core.workflows import packs, registry
from webapp.extensions import db

ROW_LINK = re.compile(r'<td class="name"><a href="/entities/(\d+)">([^<]+)</a></td>')


def names_on(html: str) -> list[str]:
    return [name for _, name in ROW_LINK.findall(html)]


def test_the_list_opens_on_the_first_type_with_its_entities(admin_client, estate):
    page = admin_client.get("/entities/")

    assert page.status_code == 200
    assert "<h1>Builder</h1>" in page.text
    assert len(names_on(page.text)) == 1
    assert "1 matching" in page.text


def test_an_htmx_request_gets_only_the_rows_fragment(admin_client, estate):
    page = admin_client.get("/entities/?type=property", headers=HTMX)

    assert page.status_code == 200
    assert page.text.lstrip().startswith('<section id="results"')
    assert "<html" not in page.text
    assert len(names_on(page.text)) == 3


def test_a_misspelt_search_still_finds_the_name(admin_client, create, sm):
    create("builder", "Acme Homes")
    create("builder", "Summit Builders")

    page = admin_client.get("/entities/?type=builder&q=acne+hom", headers=HTMX)

    assert names_on(page.text) == ["Acme Homes"]
    assert "showing names with “acme hom”" in page.text


def test_a_search_counts_only_the_matches_of_the_listed_type(admin_client, create):
    for name in ("Alpha Homes", "Alphabet Builders"):
        create("builder", name)
    for name in ("Alpha Smith", "Alpha Jones", "Alpha Brown"):  # the same word, another type
        create("sales_rep", name)

    page = admin_client.get("/entities/?type=builder&q=alpha", headers=HTMX)

    assert sorted(names_on(page.text)) == ["Alpha Homes", "Alphabet Builders"]
    assert "2 matching" in page.text


def test_a_search_matches_names_only_not_the_type_it_lists(admin_client, create):
    create("builder", "Acme Homes")
    create("builder", "Summit Builders")
    create("sales_rep", "Homer Builder")

    by_type_name = admin_client.get("/entities/?type=builder&q=builder", headers=HTMX)
    by_name = admin_client.get("/entities/?type=builder&q=homes", headers=HTMX)

    assert names_on(by_type_name.text) == ["Summit Builders"]
    assert names_on(by_name.text) == ["Acme Homes"]


def test_a_type_with_a_name_of_two_letters_is_searched_too(app, sm, admin_client, create):
    # The search index keeps types as trigrams; a two-letter type has none to match.
    flag = registry.load_pack("accounts")["types"]["feature_flag"]
    with app.app_context(), write_transaction(db.session):
        registry.save(db.session, "ff", flag, "test", "pytest", sm.clock(),
                      set(sm.workflows.all(db.session)))
    sm.workflows.invalidate()
    create("ff", "Dark Mode")
    create("feature_flag", "Dark Launch")

    page = admin_client.get("/entities/?type=ff&q=dark", headers=HTMX)

    assert names_on(page.text) == ["Dark Mode"]


def test_a_search_that_matches_nothing_says_so_and_offers_to_clear_it(admin_client, create):
    create("builder", "Acme Homes")

    page = admin_client.get("/entities/?type=builder&q=zzzzqqq")

    assert "No builder name matches “zzzzqqq”" in page.text
    assert "clear the search" in page.text


def test_filters_narrow_by_status_parent_and_quiet_days(admin_client, create, estate, clock):
    quiet = create("property", "Quiet Lot", parent_id=estate.community,
                   last_activity_at=clock() - timedelta(days=90))
    other = create("community", "Elsewhere", parent_id=estate.builder)
    create("property", "Other Lot", parent_id=other)

    by_parent = admin_client.get(f"/entities/?type=property&parent_id={other}")
    by_quiet = admin_client.get("/entities/?type=property&quiet_days=60")
    by_status = admin_client.get("/entities/?type=property&status=sold")

    assert names_on(by_parent.text) == ["Other Lot"]
    assert names_on(by_quiet.text) == ["Quiet Lot"]
    assert f'href="/entities/{quiet}"' in by_quiet.text
    assert names_on(by_status.text) == []
    assert "No property entities match these filters." in by_status.text


def test_quiet_entities_are_listed_oldest_activity_first(admin_client, create, clock):
    for name, days in (("Quiet", 90), ("Quietest", 200), ("Quieter", 120)):
        create("sales_rep", name, last_activity_at=clock() - timedelta(days=days))

    page = admin_client.get("/entities/?type=sales_rep&quiet_days=60").text

    assert names_on(page) == ["Quietest", "Quieter", "Quiet"]
    assert 'aria-sort="ascending"' in page


@pytest.mark.parametrize("query, field", [("parent_id=abc", "parent id"),
                                          ("quiet_days=-3", "quiet days"),
                                          ("sort=colour", "sort"),
                                          ("cursor=%%%", "cursor")])
def test_a_bad_filter_value_is_a_message_not_a_500(admin_client, estate, query, field):
    page = admin_client.get(f"/entities/?type=property&{query}")

    assert page.status_code == 400
    assert f"{field}:" in page.text
    assert 'role="alert"' in page.text


def test_an_unknown_type_is_refused_with_the_known_ones(admin_client, sm):
    page = admin_client.get("/entities/?type=spaceship")

    assert page.status_code == 400
    assert "Unknown entity type" in page.text


def test_a_status_of_another_type_is_dropped_with_a_notice(admin_client, estate):
    page = admin_client.get("/entities/?type=property&status=suspended")

    assert page.status_code == 200
    assert "Property has no status &#39;suspended&#39;; showing every status." in page.text
    assert len(names_on(page.text)) == 3


def _walk(client, url: str, rel: str = "next") -> list[list[str]]:
    """Follow the pager's Next (or Previous) links from ``url``; the names on each page."""
    pages = []
    while url:
        html = client.get(url).text
        pages.append(names_on(html))
        link = re.search(rf'rel="{rel}" href="([^"]+)"', html)
        url = link.group(1).replace("&amp;", "&") if link else None
    return pages


@pytest.mark.parametrize("sort, expected", [
    ("name", ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf"]),
    ("-name", ["Golf", "Foxtrot", "Echo", "Delta", "Charlie", "Bravo", "Alpha"]),
    ("id", ["Charlie", "Alpha", "Golf", "Bravo", "Echo", "Delta", "Foxtrot"]),
    ("-id", ["Foxtrot", "Delta", "Echo", "Bravo", "Golf", "Alpha", "Charlie"]),
])
def test_sorted_pages_follow_each_other_without_gaps_or_repeats(admin_client, create, monkeypatch,
                                                                sort, expected):
    monkeypatch.setattr(lists, "PAGE_SIZE", 3)
    for name in ("Charlie", "Alpha", "Golf", "Bravo", "Echo", "Delta", "Foxtrot"):
        create("sales_rep", name)

    forward = _walk(admin_client, f"/entities/?type=sales_rep&sort={sort}")

    assert [len(p) for p in forward] == [3, 3, 1]
    assert [name for page in forward for name in page] == expected


def test_previous_pages_come_back_in_the_same_order(admin_client, create, monkeypatch):
    monkeypatch.setattr(lists, "PAGE_SIZE", 3)
    for name in ("Charlie", "Alpha", "Golf", "Bravo", "Echo", "Delta", "Foxtrot"):
        create("sales_rep", name)
    last = "/entities/?type=sales_rep&sort=name"
    for _ in range(2):
        html = admin_client.get(last).text
        last = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")

    backward = _walk(admin_client, last, "prev")

    assert backward == [["Golf"], ["Delta", "Echo", "Foxtrot"], ["Alpha", "Bravo", "Charlie"]]


def test_sort_headers_toggle_direction_and_say_which_is_active(admin_client, estate):
    page = admin_client.get("/entities/?type=property&sort=name").text

    assert 'aria-sort="ascending"' in page
    assert 'href="/entities/?type=property&amp;sort=-name"' in page


def test_the_count_stops_at_the_cap_and_says_more_than(admin_client, create, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 2)
    for i in range(4):
        create("sales_rep", f"Rep {i}")

    page = admin_client.get("/entities/?type=sales_rep").text

    assert "More than 2 sales rep entities match" in page


def test_bulk_controls_hand_ids_or_the_filter_to_the_bulk_pages(login_as_on):
    page = login_as_on("support").get("/entities/?type=property&status=available&q=property").text

    form = re.search(r'<form id="bulk-form"[^>]*action="([^"]+)"', page)
    assert form and form.group(1) == "/bulk/new"
    assert re.search(r'<input type="checkbox" name="ids" value="\d+" form="bulk-form"', page)
    assert 'data-select-all="ids"' in page
    link = re.search(r'<a class="button" href="(/bulk/new\?[^"]+)">Select all', page).group(1)
    query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
    assert query == {"all_matching": ["1"], "type": ["property"], "status": ["available"],
                     "q": ["property"]}


@pytest.mark.parametrize("role", ["auditor", "config_editor"])
def test_roles_that_may_not_operate_get_no_bulk_controls(login_as_on, role):
    page = login_as_on(role).get("/entities/?type=property").text

    assert "bulk-form" not in page and "Select all" not in page


@pytest.fixture
def login_as_on(make_app):
    """Sign-in on an app that has a ``bulk.new`` page (a stand-in until the bulk pages land)."""
    app = make_app()
    if "bulk.new" not in app.view_functions:
        app.add_url_rule("/bulk/new", endpoint="bulk.new", view_func=lambda: "bulk")
    manager = StateManager.get_instance()
    with app.app_context():
        with write_transaction(db.session):
            packs.install_packs(db.session, manager.workflows, SEEDER, manager.clock())
        make_realestate(manager, db.session, SEEDER, properties=2, reps=0)

    def _login(role: str) -> FlaskClient:
        with app.app_context():
            name = make_user(db.session, role=role).username
        browser = app.test_client()
        login(browser, name, PASSWORD)
        return browser

    return _login


def test_csv_export_streams_every_matching_row_with_formulas_defused(admin_client, create):
    create("builder", "=HYPERLINK(\"http://x\")")
    for i in range(3):
        create("builder", f"Builder {i}", data={"headquarters": f"n{i}"})

    response = admin_client.get("/entities/export.csv?type=builder&sort=name")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["name"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "Builder 0", "Builder 1",
                                         "Builder 2"]
    assert rows[1]["headquarters"] == "n0"
    assert "attachment" in response.headers["Content-Disposition"]


def test_csv_export_reads_in_batches_beyond_one_page(admin_client, create, monkeypatch):
    real_iterate = listing.iterate
    monkeypatch.setattr(listing, "iterate", lambda *a, **k: real_iterate(*a, **{**k, "batch": 2}))
    for i in range(5):
        create("sales_rep", f"Rep {i}")

    rows = list(csv.DictReader(io.StringIO(
        admin_client.get("/entities/export.csv?type=sales_rep&q=rep").text)))

    assert sorted(r["name"] for r in rows) == [f"Rep {i}" for i in range(5)]


def test_names_are_escaped_in_the_list(admin_client, create):
    create("builder", "<script>alert(1)</script>")

    page = admin_client.get("/entities/?type=builder").text

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_list_is_empty_but_helpful_without_workflows(admin_client):
    page = admin_client.get("/entities/")

    assert page.status_code == 200
    assert "No workflows are loaded yet" in page.text

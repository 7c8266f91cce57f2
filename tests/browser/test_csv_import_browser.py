"""Export a filtered list, change a price in the file, import it back, in Chromium: the
preview says what would change, Apply changes it. Screenshots land in test-artifacts/."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import csv
import io
import re

import pytest

from tests.browser.conftest import shot, sign_in
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    create,
    fresh_state_manager,
    run,
    sm,
)
from webapp.models import Entity

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def homes(create) -> dict[str, int]:
    builder = create("builder", "Acme Homes")
    community = create("community", "Maple Ridge", parent_id=builder)
    return {name: create("property", name, parent_id=community,
                         data={"address": name, "price": price})
            for name, price in (("1 Elm Row", "250000"), ("2 Elm Row", "350000"),
                                ("3 Elm Row", "450000"))}


def test_a_filtered_export_edited_and_imported_back_changes_that_price(page, server, homes,
                                                                       run, tmp_path):
    sign_in(page, server.url, "support")
    page.goto(f"{server.url}/entities/?type=property&data.price__gte=300000")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert sorted(r["name"] for r in rows) == ["2 Elm Row", "3 Elm Row"]
    next(r for r in rows if r["name"] == "2 Elm Row")["price"] = "365000"
    edited = tmp_path / "homes.csv"
    with edited.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    page.get_by_role("link", name="Import CSV").click()
    expect(page.locator("h1")).to_have_text("Import property from CSV")
    page.get_by_label("CSV file").set_input_files(str(edited))
    page.get_by_label("Match rows by").select_option("id")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("update")
    expect(preview.locator("tr", has_text="2 Elm Row")).to_contain_text("Data: price.")
    expect(preview.locator("tr", has_text="3 Elm Row")).to_contain_text("Nothing to change.")
    shot(page, "csv-import-preview.png")
    assert run(lambda s: s.get(Entity, homes["2 Elm Row"]).data["price"]) == "350000"

    page.get_by_role("button", name=re.compile("Apply")).click()
    expect(page.locator("#done-title")).to_have_text("Imported")
    shot(page, "csv-import-done.png")
    page.goto(f"{server.url}/entities/{homes['2 Elm Row']}")
    expect(page.locator("#details")).to_contain_text("365,000")
    assert run(lambda s: s.get(Entity, homes["2 Elm Row"]).data["price"]) == "365000"

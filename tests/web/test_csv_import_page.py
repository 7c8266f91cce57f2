"""The import page (CONTRACT §7): upload, a preview of what each row would do, then Apply;
the list links to it, the export has a column per field, and bad files are form messages."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import csv
import io

import pytest

from tests.helpers import csrf_token
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    create,
    estate,
    fresh_state_manager,
    run,
    sm,
)
from webapp.extensions import db
from webapp.models import Entity, StatusChange


@pytest.fixture
def support(login_as):
    return login_as("support")


def export(client, query: str = "type=property") -> list[dict[str, str]]:
    answer = client.get(f"/entities/export.csv?{query}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(answer.text)))


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client, raw: bytes, **form) -> tuple[int, str]:
    token = csrf_token(client.get("/entities/import?type=property").text)
    answer = client.post("/entities/import", data={
        "csrf_token": token, "type": "property", "key": "id", "rollback_on_error": "1",
        "file": (io.BytesIO(raw), "homes.csv"), **form}, content_type="multipart/form-data")
    return answer.status_code, answer.text


def price_of(app, entity_id: int) -> str:
    with app.app_context():
        return db.session.get(Entity, entity_id).data.get("price")


def test_the_list_links_to_the_import_page_for_roles_that_operate(support, login_as, estate):
    assert "/entities/import?type=property" in support.get("/entities/?type=property").text
    assert "Import CSV" not in login_as("auditor").get("/entities/?type=property").text


def test_a_preview_changes_nothing_and_apply_imports_the_previewed_file(app, support, estate):
    rows = export(support)
    rows[0]["price"] = "512345"
    target = int(rows[0]["id"])
    before = price_of(app, target)

    status, page = upload(support, as_csv(rows))

    assert status == 200 and "would be updated" in page and "Data: price." in page
    assert price_of(app, target) == before
    token = page.split('name="token" value="')[1].split('"')[0]
    answer = support.post("/entities/import", data={
        "csrf_token": csrf_token(page), "type": "property", "key": "id", "token": token,
        "rollback_on_error": "1", "filename": "homes.csv"})
    assert answer.status_code == 200 and "Imported" in answer.text
    assert price_of(app, target) == "512345"
    again = support.post("/entities/import", data={
        "csrf_token": csrf_token(page), "type": "property", "key": "id", "token": token})
    assert again.status_code == 400 and "expired or was applied already" in again.text


def test_failed_rows_are_listed_and_all_or_nothing_offers_no_apply(support, estate):
    rows = export(support)
    rows[1]["bedrooms"] = "99"

    status, page = upload(support, as_csv(rows))

    assert status == 200
    assert "row 3: data.bedrooms: Bedrooms must be a whole number from 0 to 50." in page
    assert "would import nothing" in page and 'name="token"' not in page


@pytest.mark.parametrize(("raw", "said"), [
    (b"", "The file is empty."),
    (b"name,colour\nA,red\n", "Unknown columns: &#39;colour&#39;"),
])
def test_a_bad_file_is_a_form_message(support, estate, raw, said):
    status, page = upload(support, raw)

    assert status == 400 and said in page and "Not imported" in page


def test_a_post_without_the_csrf_token_is_refused(support, estate):
    answer = support.post("/entities/import", data={"type": "property",
                                                    "file": (io.BytesIO(b"name\nA\n"), "a.csv")},
                          content_type="multipart/form-data")
    assert answer.status_code == 400


def test_the_export_masks_sensitive_fields_for_roles_that_may_not_read_them(app, login_as, create):
    create("sales_rep", "Rita", data={"phone": "+1 555 010 0815", "email": "rita@x.example"})

    [full] = export(login_as("admin"), "type=sales_rep")
    [masked] = export(login_as("auditor"), "type=sales_rep")

    assert full["phone"] == "'+15550100815" and full["email"] == "rita@x.example"
    assert masked["phone"] == "••••0815"


def test_a_formula_looking_value_exported_with_an_apostrophe_is_read_back_without_it(
        app, support, create):
    home = create("property", "=1+1", data={"address": "-5 Lane"})
    rows = export(support)
    assert (rows[0]["name"], rows[0]["address"]) == ("'=1+1", "'-5 Lane")

    status, page = upload(support, as_csv(rows), rollback_on_error="")

    assert status == 200 and "Nothing to change." in page
    with app.app_context():
        assert (db.session.get(Entity, home).name, db.session.get(Entity, home).data) == (
            "=1+1", {"address": "-5 Lane"})
        assert db.session.query(StatusChange).filter_by(source="import").count() == 0

"""Hostile input is refused at the edge with a 400 that says what is wrong, and never stored
(issue 19: surrogates, deep nesting, huge numbers, dates at the ends of the calendar, over-long
addresses). tests/security/test_bad_input_matrix.py sends the same kinds to every route; these
are the cases the probe found, one by one."""
from __future__ import annotations

import base64
import json
from io import BytesIO
from urllib.parse import quote

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from tests.factories import PASSWORD, load_packs, make_token, make_user
from tests.helpers import csrf_token, login
from webapp import inputs
from webapp.core.base.actor import SYSTEM
from webapp.core.base.errors import InvalidInput
from webapp.extensions import db
from webapp.inputs import URL_MAX
from webapp.models import AuditEntry, Entity, StatusChange

SURROGATE = "a\ud800b"
DEEP = "[" * 1000 + "]" * 1000
HUGE = "9" * 5000


@pytest.fixture
def ticket(app) -> int:
    with app.app_context():
        manager = load_packs(db.session)
        return manager.create_entity(db.session, SYSTEM, type="ticket", name="Leaky tap",
                                     data={"priority": "LOW", "description": "drips"}).id


@pytest.fixture
def api(app):
    """POST/PATCH raw JSON text as an admin script would."""
    with app.app_context():
        token = make_token(db.session, make_user(db.session, role="admin"))
    client = app.test_client()

    def send(method: str, url: str, text: str | bytes):
        return client.open(url, method=method, data=text, content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})

    send.get = lambda url: client.get(url, headers={"Authorization": f"Bearer {token}"})
    return send


@pytest.fixture
def admin(app):
    with app.app_context():
        name = make_user(db.session, role="admin").username
    browser = app.test_client()
    assert login(browser, name, PASSWORD).status_code == 302
    return browser


def stored(app, ticket: int) -> tuple[str, dict, int]:
    with app.app_context():
        entity = db.session.get(Entity, ticket)
        return entity.name, entity.data, entity.version


def refusal(response) -> dict:
    """The contract's 400 body; asserts its shape."""
    assert response.status_code == 400, response.text
    body = response.get_json()
    assert body["error"] == "invalid_input" and body["message"] and body["fields"]
    return body


def test_a_lone_surrogate_in_an_entity_name_is_a_400_naming_the_field(api, ticket):
    body = refusal(api("POST", "/api/v1/entities", json.dumps(
        {"type": "ticket", "name": SURROGATE, "data": {"priority": "LOW"}})))

    assert list(body["fields"]) == ["name"]
    assert "surrogate" in body["fields"]["name"]


@pytest.mark.parametrize("route, payload", [
    ("/transition", {"to": "OPEN", "reason": SURROGATE}),
    ("/activity", {"note": SURROGATE}),
])
def test_a_lone_surrogate_in_a_reason_or_note_is_refused_and_nothing_changes(
        app, api, ticket, route, payload):
    before = stored(app, ticket)

    refusal(api("POST", f"/api/v1/entities/{ticket}{route}", json.dumps(payload)))

    assert stored(app, ticket) == before


@pytest.mark.parametrize("data, field", [({"description": SURROGATE}, "data.description"),
                                         ({SURROGATE: "x"}, "data.a\ufffdb")],
                         ids=["value", "key"])
def test_a_surrogate_inside_data_is_not_stored_and_every_page_still_renders(
        app, api, admin, ticket, data, field):
    version = stored(app, ticket)[2]

    body = refusal(api("PATCH", f"/api/v1/entities/{ticket}",
                       json.dumps({"version": version, "data": data})))

    assert list(body["fields"]) == [field]  # named, with the surrogate itself not echoed
    assert stored(app, ticket)[1] == {"priority": "LOW", "description": "drips"}
    for page in ("", "/details", "/timeline", "/actions"):
        assert admin.get(f"/entities/{ticket}{page}").status_code == 200


@pytest.mark.parametrize("route, payload", [
    ("/api/v1/bulk/update", {"update_data": {"description": SURROGATE}}),
    ("/api/v1/bulk/assign", {"assignee": SURROGATE}),
    ("/api/v1/bulk/transition", {"target_state": "OPEN", "comments": SURROGATE}),
])
def test_bulk_bodies_with_a_surrogate_are_refused_before_anything_runs(
        app, api, ticket, route, payload):
    before = stored(app, ticket)

    refusal(api("POST", route, json.dumps({"ids": [ticket], **payload})))

    assert stored(app, ticket) == before


def test_a_surrogate_encoded_in_the_raw_bytes_is_not_utf8_and_is_refused(api, ticket):
    body = refusal(api("POST", f"/api/v1/entities/{ticket}/activity", b'{"note": "\xed\xa0\x80"}'))

    assert body["fields"] == {"body": "Not valid UTF-8 text."}


def test_a_nul_character_is_refused_as_postgresql_could_not_store_it(api, ticket):
    refusal(api("POST", f"/api/v1/entities/{ticket}/activity", json.dumps({"note": "a\x00b"})))


def test_a_surrogate_in_the_bulk_forms_json_is_refused_with_a_page_that_says_why(
        app, admin, ticket):
    token = csrf_token(admin.get(f"/bulk/new?ids={ticket}").text)
    before = stored(app, ticket)

    page = admin.post("/bulk/run", data={
        "csrf_token": token, "ids": str(ticket), "action": "update",
        "update_data": json.dumps({"description": SURROGATE})})

    assert page.status_code == 400
    assert "surrogate" in page.text and "update_data" in page.text
    assert stored(app, ticket) == before


# ------------------------------------------------------------------------------ nesting


@pytest.mark.parametrize("route", ["/api/v1/entities/{}/activity", "/api/v1/bulk/update"])
def test_a_body_nested_a_thousand_levels_deep_is_a_400_naming_the_limit(api, ticket, route):
    body = refusal(api("POST", route.format(ticket), DEEP))

    assert "32 levels" in body["message"]


def test_data_nested_deeper_than_32_levels_is_refused_though_python_could_parse_it(
        app, api, ticket):
    deep = '{"a": ' * 40 + "1" + "}" * 40
    version = stored(app, ticket)[2]

    body = refusal(api("PATCH", f"/api/v1/entities/{ticket}",
                       f'{{"version": {version}, "data": {{"description": {deep}}}}}'))

    assert body["fields"] == {"data.description": "Nested more than 32 levels deep; at most 32 "
                                                  "levels are accepted."}


def test_the_bulk_preview_refuses_deeply_nested_json_with_a_page(admin, ticket):
    token = csrf_token(admin.get(f"/bulk/new?ids={ticket}").text)

    page = admin.post("/bulk/preview", data={"csrf_token": token, "ids": str(ticket),
                                             "action": "update", "update_data": DEEP})

    assert page.status_code == 400
    assert "32 levels" in page.text


def test_importing_a_deeply_nested_workflow_file_is_refused_with_a_page(admin):
    form = admin.get("/workflows/import").text

    page = admin.post("/workflows/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(form), "file": (BytesIO(DEEP.encode()), "deep.json")})

    assert page.status_code == 400
    assert "32 levels" in page.text


def test_an_uploaded_csv_in_another_encoding_is_left_to_its_importer_whole():
    csv = BytesIO('"name","city"\n"Zoë","Köln"\n'.encode("latin-1"))

    inputs.check_upload(FileStorage(csv, "people.csv"), "file")

    assert csv.tell() == 0


def test_an_uploaded_json_document_must_be_utf8():
    with pytest.raises(InvalidInput):
        inputs.check_upload(FileStorage(BytesIO('{"name": "Zoë"}'.encode("latin-1"))), "file")


# ------------------------------------------------------------------------------ numbers


def test_a_5000_digit_integer_in_a_body_is_a_400_naming_the_digits_allowed(app, api, ticket):
    version = stored(app, ticket)[2]

    body = refusal(api("PATCH", f"/api/v1/entities/{ticket}",
                       f'{{"version": {version}, "data": {{"description": {HUGE}}}}}'))

    assert body["fields"] == {"data.description": "Numbers may have at most 30 digits."}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_that_are_not_finite_are_refused(api, ticket, number):
    body = refusal(api("POST", "/api/v1/bulk/update",
                       f'{{"ids": [{ticket}], "update_data": {{"description": {number}}}}}'))

    assert "finite" in body["message"]


def test_the_entity_form_refuses_a_5000_digit_number_with_a_page_instead_of_a_500(
        app, admin, ticket):
    page = admin.get(f"/entities/{ticket}").text

    answer = admin.post(f"/entities/{ticket}/edit", data={
        "csrf_token": csrf_token(page), "version": str(stored(app, ticket)[2]),
        "name": "Leaky tap", "data-priority": HUGE})

    assert answer.status_code == 400
    assert "at most 30 digits" in answer.text


def test_the_bulk_form_says_how_many_digits_a_number_may_have_not_what_python_says(
        admin, ticket):
    token = csrf_token(admin.get(f"/bulk/new?ids={ticket}").text)

    page = admin.post("/bulk/preview", data={
        "csrf_token": token, "ids": str(ticket), "action": "update",
        "update_data": f'{{"description": {HUGE}}}'})

    assert page.status_code == 400
    assert "at most 30 digits" in page.text
    assert "set_int_max_str_digits" not in page.text


@pytest.mark.parametrize("url", ["/bulk/new?ids=%C2%B2", "/events/deliveries?before=%C2%B2",
                                 "/sweeps/?before=%C2%B2"])
def test_a_number_written_with_a_digit_that_is_not_ascii_is_a_400_not_a_500(admin, url):
    page = admin.get(url)  # "²": str.isdigit() says yes, int() says no

    assert page.status_code == 400


@pytest.mark.parametrize("url", ["/entities/{}/timeline?before=99999999999999999999",
                                 "/events/?before=99999999999999999999",
                                 "/api/v1/entities?parent_id=99999999999999999999,x"])
def test_an_id_in_the_query_past_any_row_is_a_400_not_an_overflow(admin, ticket, url):
    page = admin.get(url.format(ticket))

    assert page.status_code == 400
    assert "Not an id" in page.text


def test_an_id_in_the_path_longer_than_any_row_id_is_a_404(api):
    for entity_id in ("99999999999", "9" * 25, HUGE):
        assert api.get(f"/api/v1/entities/{entity_id}").status_code == 404


def test_a_crafted_cursor_of_deeply_nested_json_is_a_400(api):
    cursor = base64.urlsafe_b64encode(DEEP.encode()).decode().rstrip("=")

    assert api.get(f"/api/v1/entities?cursor={cursor}").status_code == 400


# ------------------------------------------------------------------------------ dates


def test_a_sweep_forecast_as_of_the_year_one_is_a_400_naming_the_years_allowed(api):
    body = refusal(api("POST", "/api/v1/sweeps/run",
                       json.dumps({"dry_run": True, "as_of": "0001-01-01T00:00:00"})))

    assert body["fields"] == {"as_of": "Use a time between the years 1970 and 9999."}


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                    "1969-12-31"])
def test_every_time_parameter_is_held_to_the_same_years(app, api, admin, ticket, moment):
    with app.app_context():
        change = db.session.scalar(select(StatusChange.id).where(StatusChange.entity_id == ticket))
    api_answers = [
        api.get(f"/api/v1/entities/{ticket}/state-at?at={quote(moment)}"),
        api.get(f"/api/v1/audit?since={quote(moment)}"),
        api.get(f"/api/v1/audit?until={quote(moment)}"),
        api("POST", f"/api/v1/entities/{ticket}/revert",
            json.dumps({"at": moment, "reason": "back"})),
        api("POST", "/api/v1/entities", json.dumps({
            "type": "ticket", "name": "Old", "data": {"priority": "LOW"},
            "last_activity_at": moment})),
    ]
    pages = [admin.get(f"/entities/{ticket}/as-of?at={quote(moment)}"),
             admin.get(f"/audit/?since={quote(moment)}"),
             admin.get(f"/entities/{ticket}/revert?change_id={change}&at={quote(moment)}")]

    for answer in api_answers:
        assert refusal(answer)["fields"] != {}
    assert [page.status_code for page in pages] == [400, 400, 400]
    assert all("between the years 1970 and 9999" in page.text for page in pages)


def test_a_time_within_the_years_still_works(app, api, ticket):
    answer = api.get(f"/api/v1/entities/{ticket}/state-at?at=2999-01-01T00:00:00Z")

    assert answer.status_code == 200


# ------------------------------------------------------------------------------ addresses


def test_an_address_over_the_limit_is_a_414_in_the_contracts_shape(api, admin):
    long_query = "x" * (URL_MAX + 1)

    answer = api.get(f"/api/v1/entities?q={long_query}")
    page = admin.get(f"/entities/?q={long_query}")

    assert answer.status_code == 414
    assert answer.get_json()["error"] == "uri_too_long"
    assert "8,000 bytes" in answer.get_json()["message"]
    assert page.status_code == 414 and "8,000 bytes" in page.text


def test_an_address_longer_than_gunicorns_old_limit_is_served(api):
    assert api.get(f"/api/v1/config?unused={'x' * 6000}").status_code == 200


# ------------------------------------------------------------------------------ what is stored


def test_refused_input_leaves_no_trace_but_the_request_log(app, api, ticket):
    with app.app_context():
        before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))

    for text in (json.dumps({"note": SURROGATE}), DEEP, f'{{"note": {HUGE}}}'):
        refusal(api("POST", f"/api/v1/entities/{ticket}/activity", text))

    with app.app_context():
        after = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))
    assert after == before

"""Forms from a type's declared fields: the "New" page, the entity page's edit form, the
suggestions of reference, parent and user inputs, and values the fields no longer accept."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import PASSWORD, make_user
from tests.helpers import csrf_token, login
from tests.web.entities_fixtures import (  # noqa: F401 - fixtures
    HTMX,
    SEEDER,
    fresh_state_manager,
    run,
)
from webapp.core.base.sealed import is_sealed
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import Entity, StatusChange

#: One field of every kind, as a type of a pack declares them.
FIELDS: dict[str, dict[str, Any]] = {
    "address": {"type": "text", "required": True, "max_length": 200},
    "notes": {"type": "textarea", "help": "Anything a buyer should know."},
    "price": {"type": "decimal", "min": 0, "required": True},
    "bedrooms": {"type": "integer", "min": 0, "max": 50},
    "pets_allowed": {"type": "boolean"},
    "listed_on": {"type": "date"},
    "open_house": {"type": "datetime"},
    "priority": {"type": "choice", "choices": ["LOW", "HIGH"]},
    "contact_email": {"type": "email"},
    "website": {"type": "url"},
    "owner_phone": {"type": "phone", "sensitive": True},
    "neighbour": {"type": "reference", "ref_type": "estate"},
    "agent": {"type": "user"},
    "spot": {"type": "location"},
    "rooms": {"type": "list", "item_fields": {
        "room": {"type": "text", "required": True}, "area": {"type": "decimal", "min": 0}}},
}


def pack(fields: dict[str, Any]) -> dict[str, Any]:
    return {"pack": "forms", "types": {
        "estate": {"label": "Estate", "initial": "open",
                   "states": {"open": {"label": "Open"},
                              "closed": {"label": "Closed", "category": "closed",
                                         "terminal": True}},
                   "transitions": [{"name": "close", "from": ["open"], "to": "closed"}]},
        "home": {"label": "Home", "parent_type": "estate", "initial": "draft",
                 "states": {"draft": {"label": "Draft"}, "listed": {"label": "Listed"}},
                 "transitions": [{"name": "publish", "from": ["draft"], "to": "listed"},
                                 {"name": "withdraw", "from": ["listed"], "to": "draft"}],
                 "fields": fields},
    }}


def install(app: Flask, manager: StateManager, fields: dict[str, Any]) -> None:
    with app.app_context(), write_transaction(db.session):
        packs.import_document(db.session, manager.workflows, pack(fields), SEEDER,
                              manager.clock())


@pytest.fixture
def sm(app: Flask) -> StateManager:
    """The app's own StateManager with the built-in packs: its keyring seals what the tests
    store and opens it again on the pages (the process's fallback manager has other keys)."""
    with app.app_context():
        manager = StateManager.get_instance()
        with write_transaction(db.session):
            packs.install_packs(db.session, manager.workflows, SEEDER, manager.clock())
    return manager


@pytest.fixture
def homes(app: Flask, sm: StateManager) -> StateManager:
    """The built-in packs, plus estates and homes whose fields are of every kind."""
    install(app, sm, FIELDS)
    with app.app_context():
        make_user(db.session, role="support", username="dana")
    return sm


@pytest.fixture
def estate(app: Flask, homes: StateManager) -> Callable[[str], int]:
    def _estate(name: str) -> int:
        with app.app_context():
            return homes.create_entity(db.session, SEEDER, type="estate", name=name).id
    return _estate


def entity(run, entity_id: int) -> Entity:
    return run(lambda s: s.get(Entity, entity_id))


def homes_named(run, name: str) -> list[Entity]:
    return run(lambda s: s.query(Entity).filter_by(type="home", name=name).all())


def opened(manager: StateManager, stored: dict[str, Any]) -> dict[str, Any]:
    """Stored data as typed: the sensitive phone is sealed at rest, and opens to its value."""
    assert is_sealed(stored["owner_phone"])
    return {**stored, "owner_phone": manager.keyring.open_value(stored["owner_phone"])}


def post(client: FlaskClient, url: str, data: dict[str, Any], htmx: bool = False) -> Any:
    token = csrf_token(client.get("/entities/new/home").text)
    return client.post(url, data={"csrf_token": token, **data},
                       headers={**HTMX, "X-CSRFToken": token} if htmx else {})


def field_errors(html: str, input_id: str) -> list[str]:
    """The messages shown under one input."""
    found = re.search(rf'<ul class="errors" id="{re.escape(input_id)}-errors" role="alert">(.*?)</ul>',
                      html, re.DOTALL)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


class FormInputs(HTMLParser):
    """What a browser would post for one form of a page: each input's name and value."""

    def __init__(self, form_action: str) -> None:
        super().__init__()
        self.action, self.inside, self.values = form_action, False, []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or tag == "template":
            self.inside = self.inside and tag != "template"
            return
        if tag == "input" and "name" in a and a.get("type") not in ("submit",):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.append((a["name"], a.get("value", "on")))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, text = self.values.pop()
            self.values.append((name, text + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self.inside = False
        elif tag == "template":
            self.inside = True


def inputs_of(html: str, action: str) -> dict[str, str]:
    parser = FormInputs(action)
    parser.feed(html)
    return dict(parser.values)


VALID = {"name": "12 Harbour Lane", "data-address": "12 Harbour Lane, Portside",
         "data-price": "350000.50"}


# ------------------------------------------------------------------------- the "New" page


def test_the_list_offers_a_new_page_only_to_roles_that_operate(homes, login_as):
    support = login_as("support").get("/entities/?type=home").text
    auditor = login_as("auditor").get("/entities/?type=home").text

    assert 'href="/entities/new/home"' in support and ">New home</a>" in support
    assert 'href="/entities/new/home"' not in auditor


def test_roles_that_may_not_operate_are_refused_the_new_page(homes, login_as):
    auditor = login_as("auditor")

    assert auditor.get("/entities/new/home").status_code == 403
    token = csrf_token(auditor.get("/entities/").text)
    assert auditor.post("/entities/new/home", data={"csrf_token": token, **VALID}).status_code == 403


def test_every_field_kind_gets_its_own_input(homes, login_as):
    page = login_as("support").get("/entities/new/home").text

    expected = [
        r'<input[^>]*id="data-address"[^>]*maxlength="200"[^>]*required',
        r'<textarea[^>]*id="data-notes"',
        r'<input[^>]*id="data-price"[^>]*min="0"[^>]*step="any"[^>]*type="number"',
        r'<input[^>]*id="data-bedrooms"[^>]*max="50"',
        r'<input[^>]*id="data-pets_allowed"[^>]*type="checkbox"',
        r'<input[^>]*id="data-listed_on"[^>]*type="date"',
        r'<input[^>]*id="data-open_house"[^>]*type="datetime-local"',
        r'<select[^>]*id="data-priority"',
        r'<input[^>]*id="data-contact_email"[^>]*type="email"',
        r'<input[^>]*id="data-website"[^>]*type="url"',
        r'<input[^>]*id="data-owner_phone"[^>]*type="password"',
        (r'<input[^>]*hx-get="/entities/lookup\?type=estate"[^>]*id="data-neighbour"[^>]*'
         r'list="data-neighbour-options"'),
        r'<input[^>]*id="data-agent"[^>]*list="data-agent-options"',
        r'<input[^>]*id="data-spot-lat"[^>]*type="number"',
        r'<input[^>]*id="data-spot-lon"[^>]*type="number"',
        r'<input[^>]*id="data-rooms-0-room"',
        r'<input[^>]*id="data-rooms-__index__-area"',  # the row that script copies
    ]
    missing = [pattern for pattern in expected if not re.search(pattern, page)]
    assert missing == []
    assert "Anything a buyer should know." in page
    assert '<option selected value="draft">Draft</option>' in page


def test_a_valid_form_creates_the_entity_with_typed_values(homes, login_as, estate, run):
    harbour = estate("Harbour Estate")
    support = login_as("support")

    answer = post(support, "/entities/new/home", {
        **VALID, "parent": "harbour estate", "data-bedrooms": "3", "data-pets_allowed": "y",
        "data-listed_on": "2025-03-01", "data-open_house": "2025-03-08T10:30",
        "data-priority": "HIGH", "data-contact_email": "Sales@Example.COM",
        "data-website": "https://example.com/12", "data-owner_phone": "+44 20 7946 0000",
        "data-neighbour": f"Harbour Estate (#{harbour})", "data-agent": "dana",
        "data-spot-lat": "50.1", "data-spot-lon": "-1.25",
        "data-rooms-0-room": "Kitchen", "data-rooms-0-area": "12.5",
        "data-rooms-3-room": "", "data-rooms-3-area": "",  # a blank row is no room
        "data-rooms-7-room": "Hall"})

    [home] = homes_named(run, "12 Harbour Lane")
    assert answer.status_code == 302 and answer.headers["Location"] == f"/entities/{home.id}"
    assert (home.parent_id, home.status) == (harbour, "draft")
    assert opened(homes, home.data) == {
        "address": "12 Harbour Lane, Portside", "price": "350000.50", "bedrooms": 3,
        "pets_allowed": True, "listed_on": "2025-03-01", "open_house": "2025-03-08T10:30:00Z",
        "priority": "HIGH", "contact_email": "Sales@example.com",
        "website": "https://example.com/12", "owner_phone": "+442079460000",
        "neighbour": harbour, "agent": "dana", "spot": {"lat": 50.1, "lon": -1.25},
        "rooms": [{"room": "Kitchen", "area": "12.5"}, {"room": "Hall"}]}
    [created] = run(lambda s: s.query(StatusChange).filter_by(entity_id=home.id).all())
    assert created.source == "manual"
    assert "Created home “12 Harbour Lane”." in support.get(f"/entities/{home.id}").text


def test_a_negative_price_is_refused_beside_the_price_and_keeps_what_was_typed(homes, login_as,
                                                                              run):
    answer = post(login_as("support"), "/entities/new/home", {**VALID, "data-price": "-5",
                                                              "data-bedrooms": "4"})

    assert answer.status_code == 400
    assert field_errors(answer.text, "data-price") == ["Price must be a number of at least 0."]
    assert 'value="12 Harbour Lane, Portside"' in answer.text
    assert re.search(r'id="data-bedrooms"[^>]*value="4"', answer.text)
    assert '<a href="#data-price">Price must be a number of at least 0.</a>' in answer.text
    assert homes_named(run, "12 Harbour Lane") == []


def test_missing_required_values_are_named(homes, login_as):
    answer = post(login_as("support"), "/entities/new/home", {"name": "", "data-price": "10"})

    assert answer.status_code == 400
    assert field_errors(answer.text, "data-address") == ["Address is required."]
    assert field_errors(answer.text, "name") == ["Give the entity a name."]


def test_a_parent_name_that_names_nothing_is_refused_beside_the_parent(homes, login_as, run):
    answer = post(login_as("support"), "/entities/new/home", {**VALID, "parent": "Nowhere"})

    assert answer.status_code == 400
    assert field_errors(answer.text, "parent") == ["No estate is named “Nowhere”."]
    assert homes_named(run, "12 Harbour Lane") == []


def test_two_parents_of_one_name_are_told_apart_by_their_id(homes, login_as, estate, run):
    first, second = estate("Twin Oaks"), estate("Twin Oaks")
    support = login_as("support")

    ambiguous = post(support, "/entities/new/home", {**VALID, "parent": "Twin Oaks"})
    picked = post(support, "/entities/new/home", {**VALID, "parent": f"Twin Oaks (#{second})"})

    assert ambiguous.status_code == 400
    assert "Several estates are named “Twin Oaks”" in field_errors(ambiguous.text, "parent")[0]
    assert picked.status_code == 302
    assert [h.parent_id for h in homes_named(run, "12 Harbour Lane")] == [second]
    assert first != second


def test_an_unknown_reference_name_is_refused_beside_its_input(homes, login_as):
    answer = post(login_as("support"), "/entities/new/home",
                  {**VALID, "data-neighbour": "Atlantis", "data-agent": "nobody"})

    assert answer.status_code == 400
    assert field_errors(answer.text, "data-neighbour") == ["No estate is named “Atlantis”."]
    assert field_errors(answer.text, "data-agent") == [
        "Agent must be the username of an enabled user; &#39;nobody&#39; is not one."]


def test_a_bad_cell_of_a_list_is_refused_in_its_own_cell(homes, login_as):
    answer = post(login_as("support"), "/entities/new/home", {
        **VALID, "data-rooms-0-room": "Kitchen", "data-rooms-2-room": "",
        "data-rooms-2-area": "", "data-rooms-5-room": "Attic", "data-rooms-5-area": "-3",
        "data-rooms-6-area": "8"})

    assert answer.status_code == 400
    # Rows are numbered again from 0; the blank one is left out and keeps no message.
    assert field_errors(answer.text, "data-rooms-2-area") == ["Area must be a number of at least 0."]
    assert field_errors(answer.text, "data-rooms-3-room") == ["Room is required."]
    assert 'value="Attic"' in answer.text


def test_a_half_filled_place_is_refused_in_words(homes, login_as):
    answer = post(login_as("support"), "/entities/new/home", {**VALID, "data-spot-lat": "50"})

    assert answer.status_code == 400
    assert field_errors(answer.text, "data-spot") == [
        "Spot must be a place: a latitude from -90 to 90 and a longitude from -180 to 180."]
    assert "{" not in field_errors(answer.text, "data-spot")[0]


def test_a_first_status_other_than_the_initial_one_can_be_chosen(homes, login_as, run):
    answer = post(login_as("support"), "/entities/new/home", {**VALID, "status": "listed"})

    assert answer.status_code == 302
    assert [h.status for h in homes_named(run, "12 Harbour Lane")] == ["listed"]


def test_a_form_without_its_csrf_token_creates_nothing(homes, login_as, run):
    support = login_as("support")

    answer = support.post("/entities/new/home", data=VALID)

    assert answer.status_code == 400
    assert homes_named(run, "12 Harbour Lane") == []


def test_without_script_a_list_gains_and_loses_rows_through_the_server(homes, login_as, run):
    support = login_as("support")

    added = post(support, "/entities/new/home", {**VALID, "data-rooms-0-room": "Kitchen",
                                                 "add_row": "data-rooms"})
    removed = post(support, "/entities/new/home", {
        **VALID, "data-rooms-0-room": "Kitchen", "data-rooms-1-room": "Hall",
        "remove_row": "data-rooms-0"})

    assert added.status_code == 200 and 'id="data-rooms-1-room"' in added.text
    assert 'value="Kitchen"' in added.text
    assert 'value="Kitchen"' not in removed.text and 'value="Hall"' in removed.text
    assert homes_named(run, "12 Harbour Lane") == []  # neither was a save


def test_a_parent_page_links_to_a_new_child_with_the_parent_filled_in(homes, login_as, estate):
    harbour = estate("Harbour Estate")
    support = login_as("support")

    link = f'href="/entities/new/home?parent={harbour}"'
    assert link in support.get(f"/entities/{harbour}").text
    page = support.get(f"/entities/new/home?parent={harbour}").text
    assert f'value="Harbour Estate (#{harbour})"' in page


def test_a_type_without_fields_is_created_with_json_data(homes, login_as, run):
    support = login_as("support")
    token = csrf_token(support.get("/entities/new/estate").text)

    answer = support.post("/entities/new/estate", data={
        "csrf_token": token, "name": "Harbour Estate", "data_json": '{"floor": 3}'})

    [created] = run(lambda s: s.query(Entity).filter_by(name="Harbour Estate").all())
    assert answer.status_code == 302 and created.data == {"floor": 3}


# ------------------------------------------------------------------------- the edit form


def stored_home(app: Flask, homes: StateManager, harbour: int) -> int:
    with app.app_context():
        return homes.create_entity(db.session, SEEDER, type="home", name="Dune View",
                                   parent_id=harbour, data={
            "address": "1 Dune Road", "notes": "South facing.\nNew roof.", "price": "425000",
            "bedrooms": 4, "pets_allowed": True, "listed_on": "2025-02-01",
            "open_house": "2025-02-08T09:30:00Z", "priority": "LOW",
            "contact_email": "agent@example.com", "website": "https://example.com/dune",
            "owner_phone": "+15550100200", "neighbour": harbour, "agent": "dana",
            "spot": {"lat": 50.5, "lon": -1.5},
            "rooms": [{"room": "Lounge", "area": "30"}, {"room": "Study"}]}).id


def test_every_input_shows_its_stored_value_and_saving_it_unchanged_changes_nothing(
        app, homes, login_as, estate, run):
    home = stored_home(app, homes, estate("Harbour Estate"))
    support = login_as("support")
    action = f"/entities/{home}/edit"

    form = inputs_of(support.get(f"/entities/{home}").text, action)
    answer = support.post(action, data=form, headers=HTMX)

    assert answer.status_code == 200, answer.text
    assert "Nothing changed: the values were the same." in answer.text
    assert entity(run, home).version == 1
    assert form["data-open_house"] == "2025-02-08T09:30"
    assert form["data-neighbour"].startswith("Harbour Estate (#")
    assert (form["data-rooms-1-room"], form["data-spot-lon"]) == ("Study", "-1.5")


def test_each_kind_of_input_saves_a_changed_value(app, homes, login_as, estate, run):
    harbour = estate("Harbour Estate")
    other = estate("Cliff Top")
    home = stored_home(app, homes, harbour)
    make = make_user
    with app.app_context():
        make(db.session, role="support", username="eli")
    support = login_as("support")
    action = f"/entities/{home}/edit"
    form = inputs_of(support.get(f"/entities/{home}").text, action)
    form.pop("data-pets_allowed")  # unticked
    form.update({"data-notes": "", "data-price": "399999.99", "data-bedrooms": "5",
                 "data-listed_on": "2025-04-01", "data-open_house": "2025-04-05T14:00",
                 "data-priority": "HIGH", "data-contact_email": "new@example.com",
                 "data-website": "https://example.com/new", "data-owner_phone": "555 0100 999",
                 "data-neighbour": "Cliff Top", "data-agent": "eli", "data-spot-lat": "-33.9",
                 "data-spot-lon": "151.2", "data-rooms-1-area": "9"})

    answer = support.post(action, data=form, headers=HTMX)

    assert answer.status_code == 200 and "Saved." in answer.text
    saved = opened(homes, entity(run, home).data)
    assert "notes" not in saved  # emptied: removed
    assert {k: v for k, v in saved.items() if k not in ("address", "rooms")} == {
        "price": "399999.99", "bedrooms": 5, "pets_allowed": False, "listed_on": "2025-04-01",
        "open_house": "2025-04-05T14:00:00Z", "priority": "HIGH",
        "contact_email": "new@example.com", "website": "https://example.com/new",
        "owner_phone": "5550100999", "neighbour": other, "agent": "eli",
        "spot": {"lat": -33.9, "lon": 151.2}}
    assert saved["rooms"] == [{"room": "Lounge", "area": "30"}, {"room": "Study", "area": "9"}]


def test_a_negative_price_in_the_edit_form_is_refused_beside_the_price(app, homes, login_as,
                                                                       estate, run):
    home = stored_home(app, homes, estate("Harbour Estate"))
    support = login_as("support")
    action = f"/entities/{home}/edit"
    form = {**inputs_of(support.get(f"/entities/{home}").text, action), "data-price": "-1"}

    answer = support.post(action, data=form, headers=HTMX)

    assert answer.status_code == 400
    assert answer.text.lstrip().startswith('<section id="details"')
    assert field_errors(answer.text, "data-price") == ["Price must be a number of at least 0."]
    assert entity(run, home).data["price"] == "425000"


def test_an_edit_of_a_stale_version_keeps_what_was_typed_against_the_current_version(
        app, homes, login_as, estate, run):
    home = stored_home(app, homes, estate("Harbour Estate"))
    support = login_as("support")
    action = f"/entities/{home}/edit"
    form = {**inputs_of(support.get(f"/entities/{home}").text, action), "data-bedrooms": "2"}
    run(lambda s: homes.update_entity(s, SEEDER, home, version=1, data={"bedrooms": 3}))

    answer = support.post(action, data=form, headers=HTMX)

    assert answer.status_code == 409
    assert "Not saved: someone changed this home since you opened it" in answer.text
    assert re.search(r'id="data-bedrooms"[^>]*value="2"', answer.text)  # what they typed
    assert re.search(r'name="version" type="hidden" value="2"', answer.text)
    assert entity(run, home).data["bedrooms"] == 3


def test_without_script_a_refused_edit_shows_the_whole_page_with_what_was_typed(
        app, homes, login_as, estate):
    home = stored_home(app, homes, estate("Harbour Estate"))
    support = login_as("support")
    action = f"/entities/{home}/edit"
    form = {**inputs_of(support.get(f"/entities/{home}").text, action), "data-bedrooms": "99"}

    answer = support.post(action, data=form)

    assert answer.status_code == 400
    assert "<title>Dune View · Statekeeper</title>" in answer.text
    assert field_errors(answer.text, "data-bedrooms") == [
        "Bedrooms must be a whole number from 0 to 50."]
    assert re.search(r'id="data-bedrooms"[^>]*value="99"', answer.text)


def test_the_page_shows_values_in_words_and_no_json(app, homes, login_as, estate):
    home = stored_home(app, homes, estate("Harbour Estate"))

    page = login_as("support").get(f"/entities/{home}").text
    details = page[page.index('<h2>Details</h2>'):page.index("<details class=\"edit\"")]

    for shown in ("425,000", "Yes", "2025-02-08 09:30 UTC", "50.5, -1.5", ">Harbour Estate</a>",
                  "+15550100200", "Lounge", "South facing.\nNew roof."):
        assert shown in details
    assert "{" not in details and "data_json" not in page


def test_a_sensitive_value_is_masked_for_roles_that_may_not_operate(app, homes, login_as, estate):
    home = stored_home(app, homes, estate("Harbour Estate"))

    auditor = login_as("auditor").get(f"/entities/{home}").text
    support = login_as("support").get(f"/entities/{home}").text

    assert "+15550100200" not in auditor and "••••0200" in auditor
    assert "+15550100200" in support
    assert "enc:v1:" not in auditor + support  # nobody is shown the sealed token


def test_a_value_sealed_before_the_type_dropped_its_fields_is_shown_as_a_value_not_a_token(
        app, homes, login_as, estate, run):
    home = stored_home(app, homes, estate("Harbour Estate"))
    install(app, homes, {})  # homes no longer declare fields; the phone stays sealed
    assert is_sealed(entity(run, home).data["owner_phone"])

    auditor = login_as("auditor").get(f"/entities/{home}").text
    support = login_as("support")
    page = support.get(f"/entities/{home}").text
    answer = support.post(f"/entities/{home}/edit", data=inputs_of(page, f"/entities/{home}/edit"),
                          headers=HTMX)

    assert "••••0200" in auditor and "+15550100200" not in auditor
    assert "+15550100200" in page
    assert "enc:v1:" not in auditor + page
    assert "Nothing changed: the values were the same." in answer.text
    assert is_sealed(entity(run, home).data["owner_phone"])


def test_a_value_the_changed_fields_no_longer_accept_is_flagged(app, homes, login_as, estate):
    home = stored_home(app, homes, estate("Harbour Estate"))
    install(app, homes, {**FIELDS, "price": {"type": "decimal", "min": 500000},
                         "priority": {"type": "choice", "choices": ["HIGH", "URGENT"]}})
    with app.app_context(), write_transaction(db.session):
        db.session.get(Entity, home).data = {**db.session.get(Entity, home).data, "colour": "blue"}

    page = login_as("support").get(f"/entities/{home}").text

    assert ('<p class="stale"><strong>No longer valid:</strong> Price must be a number of at '
            'least 500,000.</p>') in page
    assert "Colour is not a field of home." in page
    assert '<input type="checkbox" name="drop" value="colour" checked>' in page
    # The old choice stays selected, so a save does not quietly drop it.
    assert '<option selected value="LOW">LOW (no longer a choice)</option>' in page


def test_ticked_undeclared_values_are_removed_on_save(app, homes, login_as, estate, run):
    home = stored_home(app, homes, estate("Harbour Estate"))
    with app.app_context(), write_transaction(db.session):
        db.session.get(Entity, home).data = {**db.session.get(Entity, home).data, "colour": "blue"}
    support = login_as("support")
    action = f"/entities/{home}/edit"
    form = inputs_of(support.get(f"/entities/{home}").text, action)

    answer = support.post(action, data=form, headers=HTMX)

    assert answer.status_code == 200 and "Saved." in answer.text
    assert "colour" not in entity(run, home).data


def test_a_type_without_fields_keeps_its_json_textarea(homes, login_as, estate):
    harbour = estate("Harbour Estate")

    page = login_as("support").get(f"/entities/{harbour}").text

    assert 'name="data_json"' in page and "data-fields" not in page


# ------------------------------------------------------------------------- suggestions


def test_a_reference_input_suggests_entities_of_its_type_by_name(homes, login_as, estate):
    maple = estate("Maple Ridge")
    estate("Oak Hollow")

    answer = login_as("auditor").get("/entities/lookup?type=estate&q=mapl")

    assert answer.status_code == 200
    assert re.findall(r'<option value="([^"]+)">', answer.text) == [f"Maple Ridge (#{maple})"]


def test_suggestions_for_an_unknown_type_or_nothing_typed_are_empty(homes, login_as, estate):
    estate("Maple Ridge")
    auditor = login_as("auditor")

    assert "<option" not in auditor.get("/entities/lookup?type=nope&q=maple").text
    assert "<option" not in auditor.get("/entities/lookup?type=estate&q=").text


def test_a_user_input_suggests_enabled_usernames(homes, login_as):
    support = login_as("support")

    answer = support.get("/entities/lookup/users?q=DAN")

    assert re.findall(r'<option value="([^"]+)">', answer.text) == ["dana"]
    assert login_as("auditor").get("/entities/lookup/users?q=dan").status_code == 403


# ------------------------------------------------------------------------- on PostgreSQL too


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request) -> tuple[Flask, int]:
    """The app with the packs, the homes type and an estate (its id), on SQLite and then on
    PostgreSQL."""
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    manager = StateManager.get_instance()
    with app.app_context(), write_transaction(db.session):
        packs.install_packs(db.session, manager.workflows, SEEDER, manager.clock())
    install(app, manager, FIELDS)
    with app.app_context():
        make_user(db.session, role="support", username="dana")
        return app, manager.create_entity(db.session, SEEDER, type="estate", name="Maple Ridge").id


def test_names_are_suggested_and_resolved_on_every_database(any_database):
    app, maple = any_database
    support = app.test_client()
    assert login(support, "dana", PASSWORD).status_code == 302

    estates = support.get("/entities/lookup?type=estate&q=mapel").text  # a typo
    users = support.get("/entities/lookup/users?q=AN").text
    answer = post(support, "/entities/new/home", {**VALID, "parent": "maple ridge",
                                                 "data-neighbour": "Maple Ridge",
                                                 "data-agent": "dana"})

    assert re.findall(r'<option value="([^"]+)">', estates) == [f"Maple Ridge (#{maple})"]
    assert re.findall(r'<option value="([^"]+)">', users) == ["dana"]
    assert answer.status_code == 302
    with app.app_context():
        home = db.session.query(Entity).filter_by(type="home").one()
        assert (home.parent_id, home.data["neighbour"], home.data["agent"]) == (maple, maple, "dana")

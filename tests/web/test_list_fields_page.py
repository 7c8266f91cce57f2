"""The entity list on declared fields (issue 15): the type's listed fields as columns, filters
shaped by each field's kind, sorting on filterable fields, the parent by name, the column
chooser remembered per person, and saved views (personal, shared, pinned; a view whose field
was removed says so)."""
# The fixtures imported from entities_fixtures come back as test parameters.
# ruff: noqa: F811
from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from tests.factories import PASSWORD, make_entity, make_user
from tests.helpers import csrf_token, login
from tests.web.entities_fixtures import SEEDER, fresh_state_manager, sm  # noqa: F401 - fixtures
from webapp.blueprints.bulk import forms
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import registry
from webapp.extensions import db

ROW_LINK = re.compile(r'<td class="name"><a href="/entities/(\d+)">([^<]+)</a></td>')


def names_on(html: str) -> list[str]:
    return [name for _, name in ROW_LINK.findall(html)]


@pytest.fixture
def houses(app, sm) -> dict[str, int]:
    """A builder, its community "Maple Ridge", and four properties with prices."""
    with app.app_context():
        builder = make_entity(sm, db.session, SEEDER, "builder", "Harbour Homes")
        ridge = make_entity(sm, db.session, SEEDER, "community", "Maple Ridge", parent_id=builder.id)
        other = make_entity(sm, db.session, SEEDER, "community", "Oak Hollow", parent_id=builder.id)
        ids = {"ridge": ridge.id, "other": other.id}
        for name, price, beds, parent in (("Cottage", "250000", 2, ridge), ("Villa", "1200000", 5, ridge),
                                          ("Bungalow", "410000", 3, ridge), ("Loft", "390000", 1, other)):
            ids[name] = make_entity(sm, db.session, SEEDER, "property", name, parent_id=parent.id,
                                    data={"price": price, "bedrooms": beds,
                                          "address": f"{name} Road 1"}).id
    return ids


def test_listed_fields_are_columns_with_values_in_words(admin_client, houses):
    page = admin_client.get("/entities/?type=property").get_data(as_text=True)
    for heading in ("Address", "Price", "Bedrooms"):
        assert f">{heading}" in page
    assert "1,200,000" in page and "Villa Road 1" in page
    assert ">Listed<" in page or "Listed" in page  # the state's label, not its key alone


def test_filters_fit_each_kind_and_narrow_the_list(admin_client, houses):
    page = admin_client.get("/entities/?type=property").get_data(as_text=True)
    assert 'name="data.price__gte"' in page and 'name="data.price__lte"' in page
    assert 'name="data.listed_on__gte" value="" ' in page or 'type="date"' in page
    found = admin_client.get("/entities/?type=property&data.price__gte=300000&data.price__lte=500000")
    assert sorted(names_on(found.get_data(as_text=True))) == ["Bungalow", "Loft"]


def test_a_bad_filter_value_is_a_message_beside_its_input_not_a_500(admin_client, houses):
    answer = admin_client.get("/entities/?type=property&data.price__gte=cheap")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "Price must be a number" in page
    assert 'id="ff-price-errors"' in page


def test_sorting_on_a_field_column(admin_client, houses):
    page = admin_client.get("/entities/?type=property&sort=-data.price").get_data(as_text=True)
    assert names_on(page) == ["Villa", "Bungalow", "Loft", "Cottage"]
    assert 'aria-sort="descending"' in page


def test_the_parent_is_chosen_by_name(admin_client, houses):
    page = admin_client.get("/entities/?type=property&parent=Maple+Ridge").get_data(as_text=True)
    assert sorted(names_on(page)) == ["Bungalow", "Cottage", "Villa"]
    assert f'value="Maple Ridge (#{houses["ridge"]})"' in page or 'value="Maple Ridge"' in page
    by_id = admin_client.get(f"/entities/?type=property&parent_id={houses['other']}")
    assert f'value="Oak Hollow (#{houses["other"]})"' in by_id.get_data(as_text=True)
    unknown = admin_client.get("/entities/?type=property&parent=Nowhere+Park")
    assert unknown.status_code == 400
    assert "No community is named “Nowhere Park”" in unknown.get_data(as_text=True)


def test_select_all_matching_hands_the_field_filters_to_bulk(app, admin_client, houses, sm):
    page = admin_client.get("/entities/?type=property&data.price__gte=1000000").get_data(as_text=True)
    link = re.search(r'href="(/bulk/new\?[^"]+)"', page)
    assert link and "data.price__gte=1000000" in link.group(1).replace("&amp;", "&")
    bulk = admin_client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'name="data.price__gte" value="1000000"' in bulk
    with app.app_context():
        selection = forms.parse_selection(MultiDict({"all_matching": "1", "type": "property",
                                                     "data.price__gte": "1000000"}))
        assert selection.resolve(db.session, sm.vocabulary, sm.clock()) == (houses["Villa"],)


def test_the_column_chooser_is_remembered_per_person(app, admin_client, houses):
    token = csrf_token(admin_client.get("/entities/?type=property").text)
    admin_client.post("/entities/columns", data={"csrf_token": token, "type": "property",
                                                 "columns": ["square_feet", "price"]})
    page = admin_client.get("/entities/?type=property").get_data(as_text=True)
    assert ">Square feet" in page and ">Address<" not in page
    with app.app_context():
        make_user(db.session, "support", "sam")
    other = app.test_client()
    login(other, "sam", PASSWORD)
    assert ">Address" in other.get("/entities/?type=property").get_data(as_text=True)


def test_a_saved_view_reopens_the_filter_and_can_be_shared(app, admin_client, houses):
    token = csrf_token(admin_client.get("/entities/?type=property").text)
    saved = admin_client.post("/entities/views", data={
        "csrf_token": token, "type": "property", "name": "Big houses",
        "data.price__gte": "400000", "sort": "-data.price", "shared": "1", "pinned": "1"},
        follow_redirects=True)
    assert "Saved the view “Big houses” for everyone." in saved.get_data(as_text=True)
    page = admin_client.get("/entities/?type=property").get_data(as_text=True)
    view_id = re.search(r'href="/entities/views/(\d+)">Big houses<', page).group(1)
    opened = admin_client.get(f"/entities/views/{view_id}", follow_redirects=True)
    assert names_on(opened.get_data(as_text=True)) == ["Villa", "Bungalow"]
    with app.app_context():
        make_user(db.session, "auditor", "ann")
    ann = app.test_client()
    login(ann, "ann", PASSWORD)
    assert "Big houses" in ann.get("/entities/?type=property").get_data(as_text=True)
    again = admin_client.post("/entities/views", data={"csrf_token": token, "type": "property",
                                                       "name": "Big houses"}, follow_redirects=True)
    assert "You already have a view named “Big houses”." in again.get_data(as_text=True)


def test_a_view_whose_field_was_removed_says_so(app, admin_client, houses, sm):
    token = csrf_token(admin_client.get("/entities/?type=property").text)
    admin_client.post("/entities/views", data={"csrf_token": token, "type": "property",
                                                "name": "Cheap", "data.price__lte": "300000",
                                                "status": "listed"})
    with app.app_context():
        doc = registry.export_document(db.session, sm.workflows, "property")["types"]["property"]
        doc["fields"]["price"]["filterable"] = False
        with write_transaction(db.session):
            registry.save(db.session, "property", doc, "realestate", "admin", sm.clock(),
                          set(registry.load_pack("realestate")["types"]))
        sm.workflows.invalidate()
    page = admin_client.get("/entities/?type=property").get_data(as_text=True)
    view_id = re.search(r'href="/entities/views/(\d+)">Cheap<', page).group(1)
    opened = admin_client.get(f"/entities/views/{view_id}", follow_redirects=True)
    assert opened.status_code == 200
    text = opened.get_data(as_text=True)
    assert "The view “Cheap”" in text and "not a filterable field" in text

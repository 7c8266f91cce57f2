"""What changing a type's declared fields would do to the entities already stored: counted per
field, with examples, before anything is saved (webapp/core/fields/impact.py)."""
from __future__ import annotations

from webapp.core.fields.impact import impact
from webapp.core.fields.spec import parse_fields

OLD = parse_fields({"price": {"type": "decimal"}, "bedrooms": {"type": "integer"},
                    "notes": {"type": "textarea"}, "owner_phone": {"type": "phone",
                                                                   "sensitive": True}})


def new_fields(**changes):
    doc = {"price": {"type": "decimal"}, "bedrooms": {"type": "integer"},
           "notes": {"type": "textarea"}, "owner_phone": {"type": "phone", "sensitive": True}}
    doc.update(changes)
    return parse_fields({k: v for k, v in doc.items() if v is not None})


def test_values_the_new_bounds_refuse_are_counted_per_field_with_three_examples():
    rows = [(i, {"price": str(-i)}) for i in range(1, 6)] + [(9, {"price": "12.50"})]

    report = impact("property", OLD, new_fields(price={"type": "decimal", "min": 0}), rows)

    price = report.fields["price", "refused"]
    assert report.scanned == 6
    assert price.count == 5
    assert [e.entity_id for e in price.examples] == [1, 2, 3]
    assert report.sentences()[0] == (
        "property: price: 5 entities hold a value the new fields refuse (e.g. "
        "#1 '-1': Price must be a number of at least 0.; #2 '-2': Price must be a number of at "
        "least 0.; #3 '-3': Price must be a number of at least 0.).")


def test_a_field_made_required_counts_the_entities_that_have_none():
    rows = [(1, {"bedrooms": 3}), (2, {}), (3, {"bedrooms": None}), (4, {"price": "1"})]

    report = impact("property", OLD, new_fields(bedrooms={"type": "integer", "required": True}),
                    rows)

    assert report.fields["bedrooms", "missing"].count == 3
    assert report.sentences() == [
        "property: bedrooms is now required: 3 entities have none (e.g. #2, #3, #4)."]


def test_fields_the_change_leaves_alone_are_not_reported_again():
    rows = [(1, {"price": "not a number", "bedrooms": "x"})]  # wrong already, and unchanged

    report = impact("property", OLD, new_fields(bedrooms={"type": "integer", "max": 50}), rows)

    assert list(report.fields) == [("bedrooms", "refused")]


def test_an_unchanged_declaration_reads_no_rows():
    def rows():
        raise AssertionError("read")
        yield

    report = impact("property", OLD, new_fields(), rows())

    assert not report.violating and report.scanned == 0


def test_a_field_no_longer_declared_counts_the_entities_holding_a_value():
    report = impact("property", OLD, new_fields(notes=None),
                    [(1, {"notes": "Leaky roof"}), (2, {"price": "3"})])

    assert report.fields["notes", "undeclared"].count == 1
    assert "notes is not a field of property any more: 1 entity has a value for it" in (
        report.sentences()[0])


def test_declaring_fields_on_a_free_form_type_checks_every_stored_key():
    rows = [(1, {"price": "-1", "colour": "red"}), (2, {"price": "5"})]

    report = impact("property", {}, parse_fields({"price": {"type": "decimal", "min": 0}}), rows)

    assert set(report.fields) == {("price", "refused"), ("colour", "undeclared")}


def test_sealed_values_are_skipped_not_reported():
    rows = [(1, {"owner_phone": "enc:v1:abcd1234:c2VhbGVk"}), (2, {"owner_phone": "call me"})]
    changed = new_fields(owner_phone={"type": "phone", "sensitive": True, "max_length": 30,
                                      "required": True})

    report = impact("property", OLD, changed, rows)

    assert report.sealed_skipped == 1
    assert report.fields["owner_phone", "refused"].count == 1
    assert [e.entity_id for e in report.fields["owner_phone", "refused"].examples] == [2]


def test_list_items_are_checked_and_counted_once_per_entity():
    old = parse_fields({"line_items": {"type": "list", "item_fields": {
        "quantity": {"type": "integer"}}}})
    new = parse_fields({"line_items": {"type": "list", "item_fields": {
        "quantity": {"type": "integer", "min": 1}}}})
    rows = [(7, {"line_items": [{"quantity": 0}, {"quantity": -2}]})]

    report = impact("work_order", old, new, rows)

    items = report.fields["line_items", "refused"]
    assert items.count == 1
    assert items.examples[0].value == "0"


def test_counting_stops_at_the_limit_and_says_at_least():
    rows = ((i, {"price": "-1"}) for i in range(1, 1000))

    report = impact("property", OLD, new_fields(price={"type": "decimal", "min": 0}), rows,
                    limit=10)

    assert report.scanned == 10 and not report.complete
    assert "price: at least 10 entities hold" in report.sentences()[0]


def test_removing_every_field_makes_the_data_free_form_and_refuses_nothing():
    report = impact("property", OLD, {}, [(1, {"price": "-1", "colour": "red"})])

    assert not report.violating

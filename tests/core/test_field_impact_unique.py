"""What a change of fields would refuse, for a field newly declared unique and for encrypted
values (webapp/core/fields/impact.py): duplicates among the stored entities are counted,
encrypted ones by their blind index and never shown, and values nobody can read are counted
as not checked."""
from __future__ import annotations

from webapp.core.fields.impact import MASKED, impact
from webapp.core.fields.secrets import Keyring, new_key
from webapp.core.fields.spec import parse_fields

OLD = parse_fields({"email": {"type": "email", "sensitive": True},
                    "login": {"type": "email"}, "code": {"type": "text"}})


def declared(**changes):
    doc = {"email": {"type": "email", "sensitive": True}, "login": {"type": "email"},
           "code": {"type": "text"}}
    for name, change in changes.items():
        doc[name] = {**doc[name], **change}
    return parse_fields(doc)


def test_emails_held_twice_without_regard_to_case_are_counted_once_each_after_the_first():
    rows = [(1, {"login": "ann@example.org"}), (2, {"login": "ANN@example.org"}),
            (3, {"login": "bob@example.org"}), (4, {"login": "Ann@Example.org"})]

    report = impact("user_account", OLD, declared(login={"unique": True}), rows)

    found = report.fields["login", "refused"]
    assert found.count == 2 and [e.entity_id for e in found.examples] == [2, 4]
    assert found.examples[0].message == "Login must be unique: #1 has the same value."


def test_text_compares_exactly_and_an_already_unique_field_is_not_news():
    rows = [(1, {"code": "A1"}), (2, {"code": "a1"}), (3, {"code": "A1"})]
    unique = declared(code={"unique": True})

    report = impact("user_account", OLD, unique, rows)
    again = impact("user_account", unique, declared(code={"unique": True, "max_length": 5}), rows)

    assert report.fields["code", "refused"].count == 1
    assert not again.violating


def test_encrypted_duplicates_are_found_by_blind_index_and_shown_masked():
    keyring = Keyring([new_key()])
    specs = declared(email={"unique": True})
    sealed = [keyring.seal(specs, {"email": e})["email"]
              for e in ("ann@example.org", "ANN@example.org", "bob@example.org")]

    report = impact("user_account", OLD, specs, list(enumerate(({"email": s} for s in sealed), 1)))

    found = report.fields["email", "refused"]
    assert found.count == 1 and found.examples[0].entity_id == 2
    assert found.examples[0].value == MASKED
    assert "ann" not in " ".join(report.sentences()).lower()


def test_encrypted_values_without_an_index_are_counted_as_not_checked():
    keyring = Keyring([new_key()])
    rows = [(1, {"email": keyring.seal_value("ann@example.org")})]

    report = impact("user_account", OLD, declared(email={"unique": True}), rows)

    assert report.violating
    assert report.sentences() == [
        ("user_account: email: 1 encrypted value was not checked (the check cannot read it); "
         "the new declaration may refuse it.")]


def test_a_label_change_of_an_encrypted_field_asks_nothing():
    keyring = Keyring([new_key()])
    rows = [(1, {"email": keyring.seal_value("ann@example.org")})]

    report = impact("user_account", OLD, declared(email={"label": "Address"}), rows)

    assert not report.violating

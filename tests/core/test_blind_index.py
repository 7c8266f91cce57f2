"""A unique sensitive field (user_account ``email``, CONTRACT §7): sealed with a blind index so
that a duplicate is refused without decrypting anything, under every key while a rotation
runs, for values sealed before indexes existed too; ``keys rotate`` recomputes the indexes."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from webapp.core.base.actor import Actor
from webapp.core.base.errors import InvalidInput
from webapp.core.base.sealed import key_id
from webapp.core.changes.manager import StateManager
from webapp.core.fields import rotation
from webapp.core.fields.secrets import Keyring, has_index, new_key
from webapp.core.fields.spec import parse_fields
from webapp.models import Entity

ADMIN = Actor("ada", "admin")
SPECS = parse_fields({"email": {"type": "email", "sensitive": True, "unique": True},
                      "phone": {"type": "phone", "sensitive": True}})
TAKEN = "Email must be unique: another user account has 'ANN@example.org'."


@pytest.fixture
def keyring(tmp_path) -> Keyring:
    return Keyring.from_settings(None, tmp_path)


@pytest.fixture
def sm(manager: StateManager, keyring: Keyring) -> StateManager:
    manager.keyring = keyring
    return manager


def _account(sm: StateManager, session: Session, email: str, **more) -> Entity:
    return sm.create_entity(session, ADMIN, type="user_account", name=email.split("@")[0],
                            data={"email": email, **more})


def _refused(call) -> dict[str, str]:
    with pytest.raises(InvalidInput) as err:
        call()
    return err.value.fields


def _stored_email(session: Session, entity_id: int) -> str:
    session.expire_all()
    return session.get(Entity, entity_id).data["email"]


# ------------------------------------------------------------------------------ sealing


def test_a_unique_sensitive_value_carries_an_index_that_ignores_case(keyring):
    one = keyring.seal(SPECS, {"email": "ann@example.org", "phone": "+1 555 0100"})
    two = keyring.seal(SPECS, {"email": "ANN@Example.org"})

    assert has_index(one["email"]) and has_index(two["email"])
    assert not has_index(one["phone"])  # not unique: no index, nothing to compare
    assert one["email"].rsplit(":", 1)[0] == two["email"].rsplit(":", 1)[0]
    assert one["email"] != two["email"]  # the tokens themselves stay randomised
    assert "ann" not in one["email"].lower().split(":", 3)[3]
    assert keyring.unseal(SPECS, two) == {"email": "ANN@Example.org"}


def test_the_index_depends_on_the_key(keyring):
    other = Keyring([new_key()])

    assert keyring.index_prefixes("ann@example.org") != other.index_prefixes("ann@example.org")


def test_an_index_swapped_onto_another_token_does_not_open(keyring):
    ann = keyring.seal(SPECS, {"email": "ann@example.org"})["email"]
    bob = keyring.seal(SPECS, {"email": "bob@example.org"})["email"]
    forged = ann.rsplit(":", 1)[0] + ":" + bob.rsplit(":", 1)[1]

    assert keyring.unseal(SPECS, {"email": forged})["email"] != "bob@example.org"


# --------------------------------------------------------------------------- uniqueness


def test_a_duplicate_email_is_refused_whatever_its_case(sm, session):
    _account(sm, session, "ann@example.org")

    fields = _refused(lambda: _account(sm, session, "ANN@example.org"))

    assert fields == {"data.email": TAKEN}


def test_an_account_may_keep_or_recase_its_own_email(sm, session):
    ann = _account(sm, session, "ann@example.org")

    again = sm.update_entity(session, ADMIN, ann.id, version=ann.version,
                             data={"email": "Ann@example.org"})

    assert sm.keyring.unseal(SPECS, again.data)["email"] == "Ann@example.org"


def test_duplicates_are_found_under_every_key_while_a_rotation_runs(sm, session, keyring):
    ann = _account(sm, session, "ann@example.org")
    old = keyring.current_id

    keyring.add_key()  # the rotation has started: values under the old key not yet re-sealed

    assert key_id(_stored_email(session, ann.id)) == old
    assert _refused(lambda: _account(sm, session, "ANN@example.org")) == {"data.email": TAKEN}
    _account(sm, session, "bob@example.org")  # sealed under the new key, found under it
    assert "data.email" in _refused(lambda: _account(sm, session, "BOB@example.org"))


def test_rotation_recomputes_the_index_under_the_new_key(sm, session, keyring, clock):
    ann = _account(sm, session, "ann@example.org")
    before = _stored_email(session, ann.id)

    keyring.add_key()
    rotation.reseal_all(session, keyring, clock,
                        indexed=rotation.unique_fields({"user_account": SPECS}))
    keyring.drop_keys(keyring.old_ids)

    after = _stored_email(session, ann.id)
    assert key_id(after) == keyring.current_id and has_index(after)
    assert after.split(":")[3] != before.split(":")[3]
    assert _refused(lambda: _account(sm, session, "ANN@example.org")) == {"data.email": TAKEN}


# -------------------------------------------------------- values sealed before indexes


def _seal_as_before(sm: StateManager, session: Session, entity: Entity, email: str) -> str:
    """Store the email as code without blind indexes sealed it (entity and history alike)."""
    legacy = sm.keyring.seal_value(email)
    session.execute(update(Entity).where(Entity.id == entity.id).values(
        data={**entity.data, "email": legacy}))
    session.execute(text("UPDATE status_changes SET metadata = :m WHERE entity_id = :e"),
                    {"m": json.dumps({"data": {"before": {}, "after": {"email": legacy}}}),
                     "e": entity.id})
    session.commit()
    return legacy


def test_a_value_sealed_before_indexes_still_reads_and_still_counts(sm, session):
    ann = _account(sm, session, "ann@example.org")
    legacy = _seal_as_before(sm, session, ann, "ann@example.org")

    assert not has_index(legacy)
    assert sm.keyring.open_value(_stored_email(session, ann.id)) == "ann@example.org"
    assert _refused(lambda: _account(sm, session, "ANN@example.org")) == {"data.email": TAKEN}


def test_keys_rotate_gives_old_values_an_index_in_entities_and_history(sm, session, clock):
    ann = _account(sm, session, "ann@example.org")
    _seal_as_before(sm, session, ann, "ann@example.org")

    sm.keyring.add_key()
    done = rotation.reseal_all(session, sm.keyring, clock,
                               indexed=rotation.unique_fields({"user_account": SPECS}))

    stored = _stored_email(session, ann.id)
    assert done.rows == 1 and done.history_rows == 1
    assert has_index(stored) and key_id(stored) == sm.keyring.current_id
    history = session.execute(text("SELECT metadata FROM status_changes WHERE entity_id = :e"),
                              {"e": ann.id}).scalar_one()
    history = history if isinstance(history, dict) else json.loads(history)
    assert history["data"]["after"]["email"] == stored  # one old token, one new token
    assert sm.keyring.open_value(stored) == "ann@example.org"


def test_a_rotation_upgrades_unindexed_values_even_under_the_current_key(sm, session, clock):
    ann = _account(sm, session, "ann@example.org")
    _seal_as_before(sm, session, ann, "ann@example.org")

    rotation.reseal_all(session, sm.keyring, clock,
                        indexed=rotation.unique_fields({"user_account": SPECS}))

    assert has_index(_stored_email(session, ann.id))

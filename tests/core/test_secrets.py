"""Sensitive fields: sealed for storage, opened or masked for reading, keys kept and rotated
(CONTRACT §7). No database here except for rotation, which rewrites stored rows."""
from __future__ import annotations

import json
import stat
import threading

import pytest
from sqlalchemy import text

from webapp.core.audit.redaction import redact
from webapp.core.base.sealed import MASK, is_sealed, key_id
from webapp.core.base.transactions import write_transaction
from webapp.core.fields import rotation
from webapp.core.fields.secrets import (
    UNREADABLE,
    Keyring,
    KeyringError,
    key_id_of,
    mask,
    new_key,
    sensitive_names,
)
from webapp.core.fields.spec import parse_fields
from webapp.models import BulkOperation, Entity, StatusChange

SPECS = parse_fields({
    "phone": {"type": "phone", "sensitive": True},
    "note": {"type": "text"},
    "contacts": {"type": "list", "item_fields": {
        "name": {"type": "text"}, "email": {"type": "email", "sensitive": True}}},
})
PHONE = "+1 555 0100"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([new_key()])


# ------------------------------------------------------------------------------ sealing


def test_sealing_encrypts_only_the_sensitive_fields(keyring):
    stored = keyring.seal(SPECS, {"phone": PHONE, "note": "call after 5"})

    assert is_sealed(stored["phone"]) and key_id(stored["phone"]) == keyring.current_id
    assert PHONE not in json.dumps(stored)
    assert stored["note"] == "call after 5"


def test_sealed_values_open_to_what_was_sealed(keyring):
    plain = {"phone": PHONE, "note": "n", "contacts": [{"name": "Ann", "email": "ann@example.com"}]}

    stored = keyring.seal(SPECS, plain)

    assert keyring.unseal(SPECS, stored) == plain


def test_sensitive_fields_of_list_items_are_sealed_too(keyring):
    stored = keyring.seal(SPECS, {"contacts": [{"name": "Ann", "email": "ann@example.com"}]})

    item = stored["contacts"][0]
    assert item["name"] == "Ann" and is_sealed(item["email"])


def test_an_unchanged_value_keeps_its_stored_token_so_history_shows_no_change(keyring):
    before = keyring.seal(SPECS, {"phone": PHONE, "note": "old"})

    after = keyring.seal(SPECS, {"phone": PHONE, "note": "new"}, before)

    assert after["phone"] == before["phone"]


def test_a_changed_value_gets_a_new_token(keyring):
    before = keyring.seal(SPECS, {"phone": PHONE})

    after = keyring.seal(SPECS, {"phone": "+1 555 0199"}, before)

    assert after["phone"] != before["phone"]
    assert keyring.unseal(SPECS, after)["phone"] == "+1 555 0199"


def test_sealing_stored_data_again_changes_nothing(keyring):
    stored = keyring.seal(SPECS, {"phone": PHONE, "contacts": [{"email": "a@example.com"}]})

    assert keyring.seal(SPECS, stored, stored) == stored


def test_a_value_that_only_looks_sealed_is_encrypted_like_any_other(keyring):
    forged = "enc:v1:deadbeef:not-a-token"

    stored = keyring.seal(SPECS, {"phone": forged})

    assert stored["phone"] != forged
    assert keyring.unseal(SPECS, stored)["phone"] == forged


def test_a_request_kept_until_it_runs_has_its_sensitive_values_sealed(keyring):
    names = sensitive_names([SPECS, parse_fields({"email": {"type": "email", "sensitive": True}})])
    update = {"phone": PHONE, "note": "n", "email": "ann@example.com"}

    kept = keyring.seal_named(names, update)

    assert names == {"phone", "email"}
    assert kept["note"] == "n" and is_sealed(kept["phone"]) and is_sealed(kept["email"])
    assert keyring.unseal({}, kept) == update


# ------------------------------------------------------------------------------ reading


def test_a_mask_shows_at_most_the_last_four_characters():
    assert mask("+1 555 0100") == MASK + "0100"
    assert mask("ann@example.com") == MASK + ".com"


def test_a_mask_hides_at_least_four_characters_of_a_short_value():
    assert mask("12345") == MASK + "5"
    assert mask("1234") == MASK
    assert mask("") == MASK


def test_roles_that_may_not_see_get_masked_values_and_the_rest_untouched(keyring):
    stored = keyring.seal(SPECS, {"phone": PHONE, "note": "n",
                                  "contacts": [{"name": "Ann", "email": "ann@example.com"}]})

    shown = keyring.view_for(False, SPECS, stored)

    assert shown == {"phone": MASK + "0100", "note": "n",
                     "contacts": [{"name": "Ann", "email": MASK + ".com"}]}


def test_roles_that_may_see_get_the_plaintext(keyring):
    stored = keyring.seal(SPECS, {"phone": PHONE})

    assert keyring.view_for(True, SPECS, stored) == {"phone": PHONE}


def test_a_plaintext_value_of_a_field_declared_sensitive_later_is_masked_too(keyring):
    assert keyring.view_for(False, SPECS, {"phone": PHONE}) == {"phone": MASK + "0100"}


def test_a_field_no_longer_declared_sensitive_still_reads(keyring):
    stored = keyring.seal(SPECS, {"phone": PHONE})

    assert keyring.view_for(True, {}, stored) == {"phone": PHONE}
    assert keyring.view_for(False, {}, stored) == {"phone": MASK + "0100"}


def test_a_value_sealed_with_a_lost_key_reads_as_a_marked_mask(keyring):
    stored = Keyring([new_key()]).seal(SPECS, {"phone": PHONE})

    assert keyring.view_for(True, SPECS, stored) == {"phone": UNREADABLE}
    assert keyring.view_for(False, SPECS, stored) == {"phone": UNREADABLE}
    assert UNREADABLE.startswith(MASK)


def test_history_metadata_shows_its_data_diff_like_data(keyring):
    before = keyring.seal(SPECS, {"phone": PHONE})
    after = keyring.seal(SPECS, {"phone": "+1 555 0199"}, before)
    meta = {"data": {"before": before, "after": after}, "name": {"before": "a", "after": "b"}}

    assert keyring.view_meta(False, SPECS, meta) == {
        "data": {"before": {"phone": MASK + "0100"}, "after": {"phone": MASK + "0199"}},
        "name": {"before": "a", "after": "b"}}
    assert keyring.view_meta(True, SPECS, meta)["data"]["after"] == {"phone": "+1 555 0199"}


def test_the_audit_log_keeps_a_bare_mask_for_a_sealed_value(keyring):
    stored = keyring.seal(SPECS, {"phone": PHONE, "note": "n"})

    assert redact({"data": stored}) == {"data": {"phone": MASK, "note": "n"}}


# ------------------------------------------------------------------------------ keys


def test_keys_from_the_environment_seal_with_the_first_and_open_with_any(tmp_path):
    older, newer = new_key(), new_key()
    sealed_before = Keyring([older]).seal_value(PHONE)

    keyring = Keyring.from_settings(f"{newer}, {older}", tmp_path)

    assert not (tmp_path / "data_key").exists()
    assert keyring.current_id == key_id_of(newer)
    assert keyring.open_value(sealed_before) == PHONE
    assert key_id(keyring.seal_value(PHONE)) == key_id_of(newer)


def test_a_key_that_is_not_a_fernet_key_is_refused_with_a_hint(tmp_path):
    with pytest.raises(KeyringError, match="not a data key.*keys generate"):
        Keyring.from_settings("hunter2", tmp_path)


def test_without_an_environment_key_one_is_generated_once_into_the_instance_folder(tmp_path):
    first = Keyring.from_settings(None, tmp_path)
    sealed = first.seal_value(PHONE)

    again = Keyring.from_settings(None, tmp_path)

    path = tmp_path / "data_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert again.current_id == first.current_id
    assert again.open_value(sealed) == PHONE


def test_processes_starting_together_end_up_with_one_key(tmp_path):
    rings = [Keyring.from_settings(None, tmp_path) for _ in range(8)]
    ids: list[str] = []
    threads = [threading.Thread(target=lambda r=r: ids.append(r.current_id)) for r in rings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(set(ids)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["data_key"]  # no drafts left behind


def test_a_new_key_written_by_another_process_is_picked_up(tmp_path):
    ours, theirs = Keyring.from_settings(None, tmp_path), Keyring.from_settings(None, tmp_path)
    old_id = ours.current_id

    new_id = theirs.add_key()
    sealed_there = theirs.seal_value(PHONE)

    assert ours.open_value(sealed_there) == PHONE  # an unknown key id: the file is read again
    assert ours.current_id == new_id and ours.old_ids == (old_id,)


def test_the_current_key_cannot_be_dropped(tmp_path):
    keyring = Keyring.from_settings(None, tmp_path)

    with pytest.raises(KeyringError):
        keyring.drop_keys([keyring.current_id])


def test_keys_from_the_environment_cannot_be_rewritten():
    keyring = Keyring([new_key()])

    with pytest.raises(KeyringError, match="STATEKEEPER_DATA_KEY"):
        keyring.add_key()


# ------------------------------------------------------------------------------ rotation


def _store(session, keyring, phones: list[str]) -> list[int]:
    """Entities holding sealed phones, each with a creation and an update in its history."""
    ids = []
    with write_transaction(session):
        for i, phone in enumerate(phones):
            first = keyring.seal(SPECS, {"phone": phone, "note": "a"})
            later = keyring.seal(SPECS, {"phone": phone, "note": "b"}, first)
            e = Entity(type="contact", name=f"c{i}", status="active", data=later)
            session.add(e)
            session.flush()
            session.add_all([
                StatusChange(entity_id=e.id, new_status="active", action="create",
                             actor="t", source="api", correlation_id="c",
                             meta={"data": {"before": {}, "after": first}}),
                StatusChange(entity_id=e.id, old_status="active", new_status="active",
                             action="update", actor="t", source="api", correlation_id="c",
                             meta={"data": {"before": {"note": "a"}, "after": {"note": "b"}}})])
            ids.append(e.id)
    return ids


def _tokens(session) -> list[str]:
    docs = [row[0] for row in session.execute(text("SELECT data FROM entities"))]
    docs += [row[0] for row in session.execute(text("SELECT metadata FROM status_changes"))]
    return [t for doc in docs for t in _sealed_in(json.loads(doc))]


def _sealed_in(value) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _sealed_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in _sealed_in(v)]
    return [value] if is_sealed(value) else []


def test_rotation_re_encrypts_every_value_under_the_new_key(session, tmp_path, clock):
    keyring = Keyring.from_settings(None, tmp_path)
    _store(session, keyring, ["+1 555 0101", "+1 555 0102", "+1 555 0103"])
    old = keyring.current_id

    keyring.add_key()
    done = rotation.reseal_all(session, keyring, clock)

    assert done.values == 3 and done.rows == 3 and done.history_rows == 3
    assert {key_id(t) for t in _tokens(session)} == {keyring.current_id}
    assert rotation.still_using(session, [old]) == {old: 0}
    phones = sorted(keyring.unseal(SPECS, e.data)["phone"]
                    for e in session.query(Entity).populate_existing())
    assert phones == ["+1 555 0101", "+1 555 0102", "+1 555 0103"]


def test_a_value_and_its_copies_in_the_history_get_the_same_new_token(session, tmp_path, clock):
    keyring = Keyring.from_settings(None, tmp_path)
    [entity_id] = _store(session, keyring, [PHONE])
    keyring.add_key()

    rotation.reseal_all(session, keyring, clock)

    entity = session.get(Entity, entity_id, populate_existing=True)
    created = session.query(StatusChange).filter_by(entity_id=entity_id, action="create").one()
    assert created.meta["data"]["after"]["phone"] == entity.data["phone"]


def test_rotation_goes_a_chunk_at_a_time_and_reports_each(session, tmp_path, clock):
    keyring = Keyring.from_settings(None, tmp_path)
    ids = _store(session, keyring, [f"+1 555 01{n:02}" for n in range(5)])
    keyring.add_key()
    seen: list[rotation.Progress] = []

    rotation.reseal_all(session, keyring, clock, chunk=2, on_chunk=seen.append)

    assert [p.up_to_id for p in seen] == [ids[1], ids[3], ids[4]]
    assert [p.values for p in seen] == [2, 2, 1]
    assert all(p.last_id == ids[-1] for p in seen)


def test_running_rotation_again_skips_what_is_done(session, tmp_path, clock):
    keyring = Keyring.from_settings(None, tmp_path)
    _store(session, keyring, ["+1 555 0101", "+1 555 0102"])
    keyring.add_key()
    rotation.reseal_all(session, keyring, clock)
    before = _tokens(session)

    again = rotation.reseal_all(session, keyring, clock)

    assert (again.values, again.rows, again.history_rows) == (0, 0, 0)
    assert _tokens(session) == before


def test_a_rotation_interrupted_midway_finishes_when_run_again(session, tmp_path, clock):
    keyring = Keyring.from_settings(None, tmp_path)
    _store(session, keyring, [f"+1 555 01{n:02}" for n in range(4)])
    old = keyring.current_id
    keyring.add_key()

    def stop_after_first(progress: rotation.Progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotation.reseal_all(session, keyring, clock, chunk=2, on_chunk=stop_after_first)
    assert rotation.still_using(session, [old])[old] > 0

    finished = rotation.reseal_all(session, keyring, clock, chunk=2)

    assert finished.values == 2
    assert rotation.still_using(session, [old]) == {old: 0}


def test_a_damaged_value_keeps_its_old_key_and_is_counted(session, tmp_path, clock):
    keyring = Keyring.from_settings(None, tmp_path)
    _store(session, keyring, [PHONE])
    broken = f"enc:v1:{keyring.current_id}:gAAAAAdamaged"
    with write_transaction(session):
        session.execute(text("UPDATE entities SET data = :d"), {"d": json.dumps({"phone": broken})})
    keyring.add_key()

    done = rotation.reseal_all(session, keyring, clock)

    assert done.unreadable == 1
    assert broken in _tokens(session)


def test_a_bulk_operation_waiting_to_run_is_re_encrypted_too(session, tmp_path, clock):
    keyring = Keyring.from_settings(None, tmp_path)
    with write_transaction(session):
        session.add(BulkOperation(correlation_id="c" * 36, operation_type="update", actor="t",
                                  state="queued", params={"update_data": keyring.seal_named(
                                      {"phone"}, {"phone": PHONE, "note": "n"})}))
    old = keyring.current_id
    keyring.add_key()

    seen: list[rotation.Progress] = []

    rotation.reseal_all(session, keyring, clock, on_chunk=seen.append)

    assert [(p.what, p.rows, p.values) for p in seen] == [("bulk operations", 1, 1)]
    assert rotation.still_using(session, [old]) == {old: 0}
    params = session.query(BulkOperation).populate_existing().one().params
    assert keyring.unseal({}, params["update_data"]) == {"phone": PHONE, "note": "n"}

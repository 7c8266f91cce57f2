"""PII never reaches the audit log: not in messages, not in diffs, not under any key or nesting."""
from __future__ import annotations

import random
import secrets
import string

import pytest
from sqlalchemy import text

from tests.factories import make_entity
from webapp.core.audit import chain as audit
from webapp.core.audit.redaction import REDACTED, redact, redact_text
from webapp.core.base.transactions import write_transaction
from webapp.core.workflows import packs

EMAILS = ["jane.doe@example.com", "j+tag@mail.example.co.uk", "OPS_TEAM@EXAMPLE.ORG"]
PHONES = ["(555) 123-4567", "555-123-4567", "555.123.4567", "+1 555 123 4567", "+15551234567",
          "+44 20 7946 0958", "+49 30 12345678"]
SSNS = ["123-45-6789", "078 05 1120"]
CARDS = ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "378282246310005",
         "5500 0000 0000 0004"]
TOKENS = ["sk_" + secrets.token_urlsafe(32) for _ in range(5)] + [
    "sk_-5551234567-abcdefghijklmnop", "tok_abcdefghijklmnopqrstuvwx", "key_0123456789abcdefXYZ"]
PII = EMAILS + PHONES + SSNS + CARDS + TOKENS

SENSITIVE_KEYS = ["password", "Password", "new_password", "passwd", "email", "EMAIL_ADDRESS",
                  "contact_email", "phone", "phone_number", "mobile", "token", "api_token",
                  "access_token", "secret", "client_secret", "api_key", "ssn", "card_number",
                  "iban", "cvv"]


@pytest.mark.parametrize("pii", PII)
def test_pii_inside_free_text_is_masked(pii):
    masked = redact_text(f"Customer asked to call {pii} today.")
    assert pii not in masked
    assert masked.startswith("Customer asked to call [REDACTED]")
    assert masked.endswith(" today.")


@pytest.mark.parametrize("key", SENSITIVE_KEYS)
def test_a_sensitive_key_is_blanked_whatever_its_value(key):
    assert redact({key: "hunter2-not-pii-looking"}) == {key: REDACTED}
    assert redact({"user": {key: {"nested": 1}}}) == {"user": {key: REDACTED}}


@pytest.mark.parametrize("value", [4111111111111111, 378282246310005, 5500000000000004])
def test_a_card_number_sent_as_a_json_number_is_masked(value):
    assert redact({"ref": value}) == {"ref": REDACTED}


@pytest.mark.parametrize("value", [5551234567, 15551234567])
def test_a_phone_number_sent_as_a_json_number_is_masked_by_its_key(value):
    assert redact({"phone": value, "mobile": value}) == {"phone": REDACTED, "mobile": REDACTED}


@pytest.mark.parametrize("text", [
    "at least 9999999999 days", "at least 99999999999999999999 days", "Unix time 1712345678",
    "order 12345678901234", "4111 1111 1111 1112 is not a card number (its checksum fails)",
    "ref 5551234567", "build 20240315123045",
])
def test_a_bare_run_of_digits_is_a_number_not_a_phone_or_card(text):
    assert redact_text(text) == text


@pytest.mark.parametrize("value", [9999999999, 99999999999999999999, 1712345678, 10 ** 40])
def test_a_long_json_number_that_is_no_card_number_is_kept(value):
    assert redact({"min_age_days": value}) == {"min_age_days": value}


@pytest.mark.parametrize("text", ["x555-123-4567", "1555-123-4567", "555-123-45678",
                                  "ab123-45-6789", "123-45-67890"])
def test_patterns_match_whole_words_only(text):
    assert redact_text(text) == text


def test_an_email_used_as_a_key_is_masked():
    assert redact({"jane.doe@example.com": "VIP"}) == {REDACTED: "VIP"}


@pytest.mark.parametrize("harmless", [
    "Lot 12, Oak Ridge", "Order 2024-03-15", "Invoice 12345", "price 450000", "v1.2.3",
    "builder went out_of_business", "Room 101",
])
def test_ordinary_text_and_numbers_are_left_alone(harmless):
    assert redact_text(harmless) == harmless
    assert redact({"status": "active", "count": 12, "ok": True, "ratio": 0.5, "none": None}) == {
        "status": "active", "count": 12, "ok": True, "ratio": 0.5, "none": None}


def _random_document(rnd: random.Random, depth: int = 0):
    """A random JSON document with PII hidden in values, sentences, lists and keys."""
    def words(n):
        return " ".join("".join(rnd.choices(string.ascii_lowercase, k=rnd.randint(2, 8)))
                        for _ in range(n))
    kinds = ["pii_value", "pii_sentence", "key", "list", "plain"] + (["nested"] if depth < 3 else [])
    doc = {}
    for i in range(rnd.randint(1, 5)):
        kind = rnd.choice(kinds)
        if kind == "pii_value":
            doc[f"field{i}"] = rnd.choice(PII)
        elif kind == "pii_sentence":
            doc[f"note{i}"] = f"{words(rnd.randint(0, 4))} {rnd.choice(PII)} {words(rnd.randint(0, 4))}"
        elif kind == "key":
            doc[rnd.choice(SENSITIVE_KEYS)] = words(2)
        elif kind == "list":
            doc[f"items{i}"] = [rnd.choice(PII), words(1), rnd.randint(0, 99)]
        elif kind == "nested":
            doc[f"sub{i}"] = _random_document(rnd, depth + 1)
        else:
            doc[f"plain{i}"] = words(3)
    return doc


def _secrets_in(doc) -> set[str]:
    found = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in SENSITIVE_KEYS and isinstance(v, str):
                found.add(v)
            found |= _secrets_in(v)
    elif isinstance(doc, list):
        for v in doc:
            found |= _secrets_in(v)
    elif isinstance(doc, str):
        found |= {p for p in PII if p in doc}
    return found


@pytest.mark.parametrize("seed", range(40))
def test_no_listed_pii_survives_redaction_of_random_documents(seed):
    doc = _random_document(random.Random(seed))
    redacted = repr(redact(doc))
    for secret in _secrets_in(doc):
        assert secret not in redacted, (secret, redacted)


# ------------------------------------------------------------- through the real audit log


def _audit_text(session) -> str:
    session.rollback()
    rows = session.execute(text("SELECT * FROM audit_entries")).all()
    return "\n".join(repr(tuple(r)) for r in rows)


def test_pii_in_entity_data_never_reaches_the_audit_rows(manager, session, support, admin):
    # a type without declared fields, so its data may hold anything under any key
    with write_transaction(session):
        packs.import_document(session, manager.workflows, {"types": {"case_file": {
            "initial": "open", "states": {"open": {}, "CANCELLED": {"category": "closed",
                                                                    "terminal": True}},
            "transitions": [{"name": "cancel", "from": ["open"], "to": "CANCELLED"}]}}},
            admin, manager.clock())
    data = {"contact": {"email": EMAILS[0], "phone": PHONES[0]}, "owner_ssn": SSNS[0],
            "notes": f"pay with {CARDS[0]} or call {PHONES[5]}", "password": "hunter22",
            "api_token": TOKENS[0], "refs": [CARDS[3]], "mobile": 5551234567}
    order = make_entity(manager, session, support, "case_file", name="Boiler", data=data)
    manager.update_entity(session, support, order.id, version=1,
                          data={"notes": f"mail {EMAILS[1]}", "contact": {"phone": PHONES[6]}})
    manager.transition(session, support, order.id, "CANCELLED",
                       reason=f"customer {EMAILS[2]} with card {CARDS[1]} and ssn {SSNS[1]}")
    stored = _audit_text(session)
    for secret in [*EMAILS, *PHONES, SSNS[0], SSNS[1], CARDS[0], CARDS[1], CARDS[3],
                   "5551234567", "hunter22", TOKENS[0]]:
        assert secret not in stored, secret
    assert "Boiler" in stored and REDACTED in stored
    assert audit.verify(session).ok


def test_pii_in_an_audit_message_is_masked(session, admin, clock):
    with write_transaction(session):
        audit.write(session, [audit.AuditRecord(
            admin, "login.failed", message=f"bad password for {EMAILS[0]} using {TOKENS[1]}",
            after={"username": "jane", "password": "hunter22"})], clock())
    stored = _audit_text(session)
    assert EMAILS[0] not in stored and TOKENS[1] not in stored and "hunter22" not in stored
    assert "jane" in stored


def test_custom_key_patterns_blank_other_keys():
    assert redact({"pin": "1234", "email": "x"}, key_patterns=["pin"]) == {
        "pin": REDACTED, "email": "x"}



def test_a_deployment_can_add_its_own_sensitive_keys() -> None:
    from webapp.core.audit import redaction

    try:
        redaction.configure(["salary"])
        assert redaction.redact({"salary": 91000, "note": "x"}) == {"salary": "[REDACTED]", "note": "x"}
    finally:
        redaction.configure()
    assert redaction.redact({"salary": 91000}) == {"salary": 91000}

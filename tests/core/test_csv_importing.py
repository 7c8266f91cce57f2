"""The CSV import in the core (no Flask): every field kind survives export -> import, a run
publishes its events after the commit and writes one audit record, a dry run neither."""
from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import select

from tests.factories import make_user
from webapp.core.base import csvfile
from webapp.core.bulk import importing
from webapp.core.bulk import importing_sheet as sheets
from webapp.core.bulk.importing import ImportRequest
from webapp.models import AuditEntry, Entity

KINDS = {  # type -> data covering its kinds: lists, places, yes/no, times, users, decimals
    "work_order": {"vendor": "Acme", "priority": "HIGH", "assignee": "sam",
                   "line_items": [{"description": "Valve", "quantity": 2, "unit_price": "18.40"}]},
    "attendance": {"worker": "sam", "hours": "7.5", "work_date": "2025-03-03",
                   "site_location": {"lat": 52.52, "lon": 13.405},
                   "check_in_location": {"lat": -33.8688, "lon": 0.00001}},
    "subscription": {"plan": "PRO", "seats": 5, "auto_renew": False,
                     "expires_at": "2026-01-31T23:00:00Z"},
}


def export_file(session, manager, entity_type: str) -> bytes:
    session.rollback()
    wf = manager.workflow(session, entity_type)
    rows = session.scalars(select(Entity).where(Entity.type == entity_type).order_by(Entity.id))
    lines = csvfile.lines([sheets.columns(wf), *(sheets.export_row(e, manager.keyring.unseal(
        wf.fields, e.data), wf) for e in rows)])
    return "".join(lines).encode()


def run(session, manager, actor, raw: bytes, entity_type: str, **options):
    return importing.run(session, manager, actor, ImportRequest(entity_type, **options), raw,
                         str(uuid.uuid4()))


@pytest.mark.parametrize("entity_type", sorted(KINDS))
def test_every_kind_of_field_is_exported_in_a_form_the_import_reads_back_unchanged(
        manager, session, support, entity_type):
    make_user(session, role="support", username="sam")
    created = manager.create_entity(session, support, type=entity_type, name="One",
                                    data=KINDS[entity_type])
    stored = dict(created.data)

    result = run(session, manager, support, export_file(session, manager, entity_type),
                 entity_type, key="id")

    assert (result.unchanged, result.failure_details) == (1, {})
    session.rollback()
    assert session.get(Entity, created.id).data == stored


def test_a_run_publishes_after_the_commit_and_writes_one_audit_record(manager, session, support):
    seen = []
    manager.on_commit("builder", seen.append)
    raw = b"name,license_number\nOak,L-1\nElm,L-2\n"

    result = run(session, manager, support, raw, "builder")

    assert result.created == 2 and [e["name"] for e in seen] == ["Oak", "Elm"]
    [record] = session.scalars(select(AuditEntry).where(AuditEntry.event_type == "entity.import"))
    assert record.object_id == result.audit_correlation_id


def test_a_dry_run_publishes_nothing_and_records_nothing(manager, session, support):
    seen = []
    manager.on_commit("builder", seen.append)

    result = run(session, manager, support, b"name\nOak\n", "builder", dry_run=True)

    assert (result.created, result.successful_ids, seen) == (1, [], [])
    assert session.scalars(select(Entity).where(Entity.type == "builder")).all() == []
    assert session.scalars(select(AuditEntry).where(
        AuditEntry.event_type == "entity.import")).all() == []


def test_a_masked_sensitive_value_is_refused_rather_than_stored(manager, session, support):
    result = run(session, manager, support, "name,phone\nRita,••••0815\n".encode(), "sales_rep",
                 rollback_on_error=False)

    assert result.failure_details == {2: (
        "row 2: data.phone: Phone is masked in this file (it was exported for a role that may "
        "not read it).")}


def test_a_row_with_more_cells_than_the_header_fails_alone(manager, session, support):
    result = run(session, manager, support, b"name\nOak\nElm,extra\n", "builder",
                 rollback_on_error=False)

    assert (result.created, list(result.failure_details)) == (1, [3])
    assert "2 cells; the header has 1" in result.failure_details[3]
    assert [r["row"] for r in result.rows] == [2, 3]


def test_the_export_writes_places_and_yes_no_as_a_person_reads_them(manager, session, support):
    make_user(session, role="support", username="sam")
    manager.create_entity(session, support, type="attendance", name="Shift",
                          data=KINDS["attendance"])
    manager.create_entity(session, support, type="subscription", name="Plan",
                          data=KINDS["subscription"])

    [shift] = csv.DictReader(io.StringIO(export_file(session, manager, "attendance").decode()))
    [plan] = csv.DictReader(io.StringIO(export_file(session, manager, "subscription").decode()))

    assert (shift["site_location"], shift["check_in_location"]) == ("52.52,13.405",
                                                                    "'-33.8688,0.00001")
    assert (plan["auto_renew"], plan["seats"]) == ("false", "5")

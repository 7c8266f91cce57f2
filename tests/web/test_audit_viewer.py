"""The audit pages as an auditor uses them: filter, page, read an entry, export, verify."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select, text

from tests.factories import load_packs, make_audit_entries
from tests.helpers import csrf_token
from webapp.core.audit import chain as audit
from webapp.core.base.actor import Actor
from webapp.extensions import db
from webapp.models import AuditEntry, BulkOperation

HTMX = {"HX-Request": "true"}


@pytest.fixture
def auditor(login_as):
    return login_as("auditor")


def entry_ids(html: str) -> list[int]:
    """The entry numbers in the results table, top to bottom."""
    return [int(n) for n in re.findall(r'<a href="/audit/(\d+)">', html)]


def audit_rows(app, **where) -> list[AuditEntry]:
    with app.app_context():
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        rows = db.session.scalars(stmt).all()
        db.session.expunge_all()
        return rows


# ------------------------------------------------------------------ browsing


def test_the_log_shows_the_newest_entries_first_with_who_did_what(app, auditor, clock):
    with app.app_context():
        ids = make_audit_entries(db.session, 3, clock(), Actor("ada", "admin", ip="203.0.113.9"),
                                 "entity.transition", message="viewing booked")

    page = auditor.get("/audit/")

    assert page.status_code == 200
    assert entry_ids(page.text)[:3] == ids[::-1]
    assert "viewing booked" in page.text and "203.0.113.9" in page.text


def test_filters_narrow_the_log_and_stay_in_the_form(app, auditor, clock):
    with app.app_context():
        make_audit_entries(db.session, 2, clock(), Actor("ada", "admin"), "entity.update")
        bob = make_audit_entries(db.session, 2, clock(), Actor("bob", "support"), "entity.update",
                                 object_type="property", object_id="7", correlation_id="cid-7")

    for query in ("actor=bob", "object_type=property&object_id=7", "correlation_id=cid-7"):
        page = auditor.get(f"/audit/?{query}")
        assert entry_ids(page.text) == bob[::-1], query
    assert 'value="bob"' in auditor.get("/audit/?actor=bob").text


def test_a_time_window_filters_by_when_it_happened(app, auditor, clock):
    with app.app_context():
        early = make_audit_entries(db.session, 1, clock())
    clock.advance(hours=3)
    with app.app_context():
        make_audit_entries(db.session, 1, clock())
    until = (clock.now.replace(tzinfo=None)).isoformat(timespec="minutes")

    page = auditor.get(f"/audit/?until={until}")

    assert page.status_code == 200
    assert early[0] in entry_ids(page.text)


def test_a_bad_filter_is_explained_next_to_the_form(auditor):
    page = auditor.get("/audit/?since=last+tuesday")

    assert page.status_code == 400
    assert "since: Use an ISO 8601 time" in page.text
    assert 'aria-invalid="true"' in page.text


def test_an_htmx_filter_request_gets_only_the_results(app, auditor, clock):
    with app.app_context():
        make_audit_entries(db.session, 1, clock(), Actor("ada", "admin"))

    partial = auditor.get("/audit/?actor=ada", headers=HTMX)

    assert partial.text.lstrip().startswith('<section id="audit-results"')
    assert "<html" not in partial.text


def test_pages_link_to_older_and_back_to_newer_entries(app, auditor, clock):
    with app.app_context():
        ids = make_audit_entries(db.session, 60, clock(), Actor("ada", "admin"))
    first = auditor.get("/audit/?actor=ada")
    older_url = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")

    second = auditor.get(older_url)
    newer_url = re.search(r'href="([^"]+)" rel="prev"', second.text).group(1).replace("&amp;", "&")

    assert entry_ids(first.text) == ids[::-1][:50]
    assert entry_ids(second.text) == ids[::-1][50:]
    assert "actor=ada" in older_url
    assert entry_ids(auditor.get(newer_url).text) == entry_ids(first.text)


# ------------------------------------------------------------------ one entry


def test_an_entry_shows_its_redacted_before_and_after(app, auditor):
    with app.app_context():
        manager = load_packs(db.session)
        entity = manager.create_entity(db.session, Actor("ada", "admin"), type="ticket",
                                       name="Leaky tap", data={"customer_email": "jo@example.com",
                                                               "priority": "LOW"})
        entity_id = entity.id
    entry = audit_rows(app, event_type="entity.create")[0]

    page = auditor.get(f"/audit/{entry.id}")

    assert page.status_code == 200
    assert "Leaky tap" in page.text and "••••" in page.text  # a sensitive field: masked
    assert "jo@example.com" not in page.text
    assert f'href="/entities/{entity_id}"' in page.text
    assert f'href="/audit/?correlation_id={entry.correlation_id}"' in page.text


def test_an_entry_of_a_bulk_operation_says_so(app, auditor, admin_client, clock):
    with app.app_context():
        [entry_id] = make_audit_entries(db.session, 1, clock(), correlation_id="bulk-1")
        db.session.add(BulkOperation(correlation_id="bulk-1", operation_type="transition",
                                     actor="ada", total_items=3, successful_items=2,
                                     failed_items=1))
        db.session.commit()

    page = auditor.get(f"/audit/{entry_id}")
    as_admin = admin_client.get(f"/audit/{entry_id}")

    assert "transition by ada: 2 of 3 succeeded, 1 failed" in page.text
    assert 'href="/bulk/bulk-1"' not in page.text  # auditors cannot open the bulk pages
    if "bulk.show" in app.view_functions:
        assert 'href="/bulk/bulk-1"' in as_admin.text


def test_an_entry_about_a_user_links_to_their_account(app, auditor, clock):
    with app.app_context():
        [entry_id] = make_audit_entries(db.session, 1, clock(), event_type="user.role",
                                        object_type="user", object_id="1")

    assert 'href="/users/1"' in auditor.get(f"/audit/{entry_id}").text


def test_an_unknown_entry_is_not_found(auditor):
    assert auditor.get("/audit/99999").status_code == 404


# ------------------------------------------------------------------ export


def test_the_export_streams_the_filtered_log_as_csv_and_is_audited(app, auditor, clock):
    with app.app_context():
        make_audit_entries(db.session, 2, clock(), Actor("ada", "admin"))
        bob = make_audit_entries(db.session, 3, clock(), Actor("bob", "support"))

    response = auditor.get("/audit/export.csv?actor=bob")
    rows = list(csv.DictReader(io.StringIO(response.text)))

    assert "Content-Length" not in response.headers  # streamed as it is read, not built whole
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert [int(r["id"]) for r in rows] == bob[::-1]
    [export] = audit_rows(app, event_type="audit.export")
    assert export.message == "exported the audit log where actor=bob"


def test_the_export_refuses_a_bad_filter(auditor):
    assert auditor.get("/audit/export.csv?until=soon").status_code == 400


# ------------------------------------------------------------------ verify


def test_verifying_an_intact_log_says_so(app, auditor, clock):
    with app.app_context():
        make_audit_entries(db.session, 4, clock())
    token = csrf_token(auditor.get("/audit/").text)

    page = auditor.post("/audit/verify", data={"csrf_token": token})

    assert page.status_code == 200
    assert "Intact: 4 entries verified" in page.text
    with app.app_context():
        head = audit.head(db.session)
    assert f"Newest entry <a href=\"/audit/{head.id}\">#{head.id}</a>, hash" in page.text
    assert head.hash in page.text


def test_verifying_a_tampered_log_names_the_first_bad_entry(app, auditor, clock):
    with app.app_context():
        ids = make_audit_entries(db.session, 5, clock())
        db.session.execute(text("UPDATE audit_entries SET actor = 'nobody' WHERE id = :id"),
                           {"id": ids[2]})
        db.session.commit()
    token = csrf_token(auditor.get("/audit/").text)

    partial = auditor.post("/audit/verify", data={"csrf_token": token}, headers=HTMX)

    assert "Broken: entry" in partial.text
    assert f'href="/audit/{ids[2]}"' in partial.text
    assert "<html" not in partial.text


def test_verify_needs_the_csrf_token_and_a_post(auditor):
    assert auditor.post("/audit/verify").status_code == 400
    assert auditor.get("/audit/verify").status_code == 405


@pytest.mark.parametrize("role", ["support", "config_editor"])
def test_roles_without_audit_rights_are_refused(login_as, role):
    assert login_as(role).get("/audit/").status_code == 403


def test_ids_and_cursors_beyond_64_bits_are_handled_as_input(auditor):
    from webapp.core.base.paging import encode_cursor

    assert auditor.get(f"/audit/{2**70}").status_code == 404
    forged = auditor.get(f"/audit/?cursor={encode_cursor(2**70)}")
    assert forged.status_code == 400  # no page hands out such a cursor: a clear refusal
    assert "Use next_cursor as given." in forged.text

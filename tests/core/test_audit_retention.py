"""Audit retention: old entries go to an archive file, a checkpoint keeps the chain verifiable."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests.factories import make_audit_entries
from webapp.core.audit import chain as audit
from webapp.core.audit import retention
from webapp.models import AuditCheckpoint, AuditEntry


@pytest.fixture
def aged_log(session, clock):
    """Five entries from 400 days ago, then three from today."""
    old_time = clock() - timedelta(days=400)
    old = make_audit_entries(session, 5, old_time, event_type="old.event")
    new = make_audit_entries(session, 3, clock(), event_type="new.event")
    return old, new


def ids(session) -> list[int]:
    session.rollback()
    return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def test_entries_past_retention_are_archived_to_a_file_and_removed(
        session, clock, tmp_path, aged_log):
    old, new = aged_log

    result = retention.archive_expired(session, tmp_path, 365, clock())

    assert (result.archived, result.up_to_id) == (5, old[-1])
    lines = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert [line["id"] for line in lines] == old
    assert {line["event_type"] for line in lines} == {"old.event"}
    assert result.path.parent == tmp_path / "audit-archive"
    assert [i for i in ids(session) if i in old] == []
    assert set(new) <= set(ids(session))


def test_the_remaining_chain_still_verifies_from_the_checkpoint(session, clock, tmp_path, aged_log):
    retention.archive_expired(session, tmp_path, 365, clock())

    result = audit.verify(session)

    # The three new entries plus the audit.archived entry written by the archiving itself.
    assert result == audit.VerifyResult(True, 4, None)
    checkpoint = session.scalar(select(AuditCheckpoint))
    assert checkpoint.archived_count == 5
    assert checkpoint.last_hash == session.get(AuditEntry, aged_log[1][0]).prev_hash


def test_archiving_is_itself_audited(session, clock, tmp_path, aged_log):
    retention.archive_expired(session, tmp_path, 365, clock())

    last = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert last.event_type == "audit.archived"
    assert last.message == f"5 entries up to #{aged_log[0][-1]} archived"


def test_the_archive_file_verifies_on_its_own(session, clock, tmp_path, aged_log):
    result = retention.archive_expired(session, tmp_path, 365, clock())

    assert retention.verify_archive(result.path) == audit.VerifyResult(True, 5, None)


def test_an_edited_archive_file_is_caught(session, clock, tmp_path, aged_log):
    path = retention.archive_expired(session, tmp_path, 365, clock()).path
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    record["actor"] = "mallory"
    lines[2] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")

    assert retention.verify_archive(path).first_bad_id == record["id"]


def test_nothing_recent_is_archived(session, clock, tmp_path, aged_log):
    assert retention.archive_expired(session, tmp_path, 500, clock()) is None
    assert len(ids(session)) == 8


def test_a_second_run_archives_only_what_aged_since(session, clock, tmp_path, aged_log):
    retention.archive_expired(session, tmp_path, 365, clock())
    clock.advance(days=400)
    fresh = make_audit_entries(session, 2, clock())

    second = retention.archive_expired(session, tmp_path, 365, clock())

    assert second.archived == 4  # the three "new" entries and the first audit.archived entry
    assert audit.verify(session).ok
    assert ids(session)[:2] == fresh


def test_the_newest_entry_is_kept_even_when_everything_is_old(session, clock, tmp_path):
    entries = make_audit_entries(session, 4, clock() - timedelta(days=800))

    result = retention.archive_expired(session, tmp_path, 365, clock())

    assert result.up_to_id == entries[-2]
    assert ids(session)[0] == entries[-1]
    assert audit.verify(session).ok


def test_archiving_does_not_cross_a_recent_entry(session, clock, tmp_path):
    """A prefix only: an old entry after a recent one (clock skew) waits for the next run."""
    old = make_audit_entries(session, 2, clock() - timedelta(days=400))
    recent = make_audit_entries(session, 1, clock())
    late_old = make_audit_entries(session, 1, clock() - timedelta(days=400))

    result = retention.archive_expired(session, tmp_path, 365, clock())

    assert result.up_to_id == old[-1]
    assert ids(session)[:3] == [*recent, *late_old, late_old[0] + 1]


def test_deleting_the_oldest_entries_without_a_checkpoint_is_caught(session, clock):
    entries = make_audit_entries(session, 4, clock())
    session.execute(text("DELETE FROM audit_entries WHERE id <= :id"), {"id": entries[1]})
    session.commit()

    assert audit.verify(session) == audit.VerifyResult(False, 0, entries[2])


def test_deleting_entries_after_the_checkpoint_is_caught(session, clock, tmp_path, aged_log):
    retention.archive_expired(session, tmp_path, 365, clock())
    first_kept = aged_log[1][0]
    session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": first_kept})
    session.commit()

    assert audit.verify(session).first_bad_id == first_kept + 1


def test_a_head_written_down_before_archiving_is_checked_against_the_checkpoint(
        session, clock, tmp_path, aged_log):
    old, _new = aged_log
    at_checkpoint = audit.Head(old[-1], session.get(AuditEntry, old[-1]).hash)
    earlier = audit.Head(old[1], session.get(AuditEntry, old[1]).hash)
    retention.archive_expired(session, tmp_path, 365, clock())

    assert audit.check_head(session, at_checkpoint) is None
    assert audit.check_head(session, earlier) is None  # its hash is in the archive file
    assert "archived entry" in audit.check_head(session, audit.Head(old[-1], "f" * 64))

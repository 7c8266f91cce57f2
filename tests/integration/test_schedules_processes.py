"""Scheduled transitions run exactly once with three processes at it (CONTRACT §8, issue 16):
three ``flask --app wsgi timers run`` processes start together against one PostgreSQL
database holding due schedules; each schedule is claimed by one of them only."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from config import BASE_DIR
from webapp.core.base.actor import Actor
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import packs
from webapp.extensions import db
from webapp.models import ScheduledTransition, StatusChange, utcnow

pytestmark = pytest.mark.postgres
SEEDER = Actor("seeder", "admin")
DUE = 60


def test_three_processes_run_each_due_schedule_once(pg_app, tmp_path):
    with pg_app.app_context():
        sm = StateManager.get_instance()
        with write_transaction(db.session):
            packs.install_packs(db.session, sm.workflows, SEEDER, sm.clock())
        tickets = [sm.create_entity(db.session, SEEDER, type="ticket", name=f"Ticket {i}",
                                    data={"priority": "LOW"}).id for i in range(DUE)]
        with write_transaction(db.session):  # due a minute ago by the processes' real clocks
            db.session.add_all([ScheduledTransition(
                entity_id=t, to_status="OPEN", at=utcnow() - timedelta(minutes=1),
                reason="triage", status="pending", actor="seeder", actor_role="admin",
                created_at=utcnow(), outcome={}) for t in tickets])
        url = db.engine.url.render_as_string(hide_password=False)

    procs = [subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "timers", "run"], cwd=BASE_DIR,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(BASE_DIR), "DATABASE_URL": url,
             "STATEKEEPER_INSTANCE": str(tmp_path / f"instance{i}"),
             "STATEKEEPER_BACKGROUND": "0"}) for i in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]

    assert all(p.returncode == 0 for p in procs), outputs
    done = [int(re.search(r"schedules: (\d+) done, 0 failed", out).group(1)) for out in outputs]
    assert sum(done) == DUE
    with pg_app.app_context():
        statuses = db.session.execute(select(ScheduledTransition.status, func.count())
                                      .group_by(ScheduledTransition.status)).all()
        moves = db.session.execute(
            select(StatusChange.entity_id, func.count()).where(StatusChange.source == "timer")
            .group_by(StatusChange.entity_id)).all()
    assert statuses == [("done", DUE)]
    assert sorted(moves) == sorted((t, 1) for t in tickets)

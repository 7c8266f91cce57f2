"""Scheduled setting changes are applied once each, in order, with three worker processes at
them (CONTRACT §10, issue 18): three processes run the workers' tick together against one
PostgreSQL database holding thirty due changes of one setting."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from config import BASE_DIR
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.models import AuditEntry, ScheduledSettingChange, SettingChange, utcnow

pytestmark = pytest.mark.postgres
DUE = 30
TICK = ("import threading\n"
        "from webapp import create_app\n"
        "from webapp.workers.settings_tasks import scheduled_settings_tick\n"
        "with create_app().app_context():\n"
        "    scheduled_settings_tick(threading.Event())\n")


def test_three_processes_apply_each_due_change_once_and_in_order(pg_app, tmp_path):
    with pg_app.app_context():
        start = utcnow() - timedelta(hours=1)  # due by the processes' real clocks
        with write_transaction(db.session):
            db.session.add_all([ScheduledSettingChange(
                values={"sweep_interval_minutes": 10 + i}, status="pending", actor="eve",
                actor_role="config_editor", effective_at=start + timedelta(minutes=i),
                created_at=start - timedelta(days=1)) for i in range(DUE)])
        url = db.engine.url.render_as_string(hide_password=False)

    procs = [subprocess.Popen(
        [sys.executable, "-c", TICK], cwd=BASE_DIR, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(BASE_DIR), "DATABASE_URL": url,
             "STATEKEEPER_INSTANCE": str(tmp_path / f"instance{i}"),
             "STATEKEEPER_BACKGROUND": "0"}) for i in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]

    assert all(p.returncode == 0 for p in procs), outputs
    with pg_app.app_context():
        statuses = db.session.execute(select(ScheduledSettingChange.status, func.count())
                                      .group_by(ScheduledSettingChange.status)).all()
        history = db.session.scalars(select(SettingChange.new).order_by(SettingChange.id)).all()
        applied = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.event_type == "settings.scheduled_apply"))
        final = StateManager.get_instance().settings.get(db.session, "sweep_interval_minutes")
    assert statuses == [("applied", DUE)]
    assert history == list(range(10, 10 + DUE)) and applied == DUE
    assert final == 10 + DUE - 1

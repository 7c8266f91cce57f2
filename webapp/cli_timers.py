"""``flask --app wsgi timers run``: one pass of the time workers (CONTRACT §8)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.core.changes.manager import StateManager
from webapp.extensions import db
from webapp.workers.timing_tasks import run_pass

timers_cli = AppGroup("timers", help="Timers, scheduled transitions and SLA alerts.")


@timers_cli.command("run")
def run_timers() -> None:
    """Do one pass of what the workers do each tick: due timers, due schedules, SLA alerts."""
    sm = StateManager.get_instance()
    report = run_pass(db.session, sm, sm.clock)
    click.echo(f"Timers pass as of {sm.clock():%Y-%m-%d %H:%M:%S} UTC:")
    for line in report.lines():
        click.echo(line)

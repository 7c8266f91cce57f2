"""``flask --app wsgi timers run``: one pass of the time workers (CONTRACT §8)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

timers_cli = AppGroup("timers", help="Timers, scheduled transitions and SLA alerts.")


@timers_cli.command("run")
def run_timers() -> None:
    """Do one pass of what the workers do each tick: due timers, due schedules, SLA alerts."""
    click.echo("Nothing to do yet.")

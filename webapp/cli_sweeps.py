"""`flask sweep run [--dry-run] [--as-of ISO-DATETIME]` (CONTRACT.md §3)."""
from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from webapp.core.changes.manager import StateManager
from webapp.core.sweeps import runs as sweep_runs
from webapp.core.sweeps.sweep import SweepReport, sweep
from webapp.extensions import db

sweep_cli = AppGroup("sweep", help="The grace-period sweep.")
LISTED = 20


@sweep_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Report what it would do; change nothing.")
@click.option("--as-of", "as_of", metavar="ISO-DATETIME",
              help="Forecast: sweep as if it were this time (only with --dry-run).")
def sweep_run(dry_run: bool, as_of: str | None) -> None:
    """Run one grace-period sweep now (or a dry run / forecast)."""
    if as_of and not dry_run:
        raise click.UsageError("--as-of forecasts, so it needs --dry-run.")
    sm = StateManager.get_instance()
    clock = sm.clock
    if dry_run:
        report = sweep(db.session, sm, _parse(as_of) if as_of else clock(), dry_run=True)
    else:
        try:
            report = sweep_runs.run(db.session, sm, clock)
        except sweep_runs.SweepBusy as busy:
            raise click.ClickException(busy.message) from busy
    _print(report)


def _parse(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise click.BadParameter("use an ISO 8601 time, e.g. 2026-01-31T12:00:00Z",
                                 param_hint="--as-of") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _print(report: SweepReport) -> None:
    kind = "Dry run" if report.dry_run else f"Sweep run {report.run_id}"
    click.echo(f"{kind} as of {report.as_of:%Y-%m-%d %H:%M} UTC: {report.summary()} "
               f"({report.scanned:,} watched).")
    for item in report.items[:LISTED]:
        click.echo(f"  {item['action']:<10} {item['type']:<10} {item['id']:>8}  {item['name']} "
                   f"({item['days_quiet']} days quiet)")
    total = report.warned + report.inactivated + report.reactivated
    if total > LISTED:
        click.echo(f"  ... and {total - LISTED:,} more")
    for error in report.errors[:LISTED]:
        click.echo(f"  refused    {error['type']:<10} {error['id']:>8}  {' '.join(error['messages'])}")

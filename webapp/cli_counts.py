"""`flask counts verify [--fix]`: recount entities by type and status and compare with the
counts the write path keeps (the dashboard's figures)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.core.changes import counts
from webapp.extensions import db

counts_cli = AppGroup("counts", help="The entity counts by type and status.")


@counts_cli.command("verify")
@click.option("--fix", is_flag=True, help="Set every drifted count to the recount.")
def counts_verify(fix: bool) -> None:
    """Recount; exit 1 when a kept count differs (unless --fix repaired it)."""
    found = counts.repair(db.session) if fix else counts.drift(db.session)
    for d in found:
        click.echo(f"{d.type} {d.status}: kept {d.kept:,}, actual {d.actual:,} "
                   f"({d.kept - d.actual:+,})")
    if not found:
        click.echo("Counts match the entities.")
    elif fix:
        click.echo(f"Repaired {len(found)} count(s).")
    else:
        raise click.ClickException(f"{len(found)} count(s) drifted; "
                                   "run 'flask --app wsgi counts verify --fix' to repair.")

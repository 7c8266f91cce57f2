"""Data commands: seed-demo, workflows export/import (and sweep run, in cli_sweeps)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from webapp.core.base.actor import SYSTEM
from webapp.core.base.errors import StatekeeperError
from webapp.core.base.transactions import write_transaction
from webapp.core.changes.manager import StateManager
from webapp.core.demo import seed
from webapp.core.workflows import editing, packs, registry, schema
from webapp.extensions import db
from webapp.models import Entity, WorkflowDefinition

workflows_cli = AppGroup("workflows", help="Workflows as declarative files.")


def _install_missing_packs(names: tuple[str, ...]) -> list[str]:
    """Install packs whose types are not defined yet; never overwrite edited workflows."""
    sm = StateManager.get_instance()
    existing = set(db.session.scalars(select(WorkflowDefinition.entity_type)))
    missing = tuple(n for n in names if not set(registry.load_pack(n)["types"]) <= existing)
    if not missing:
        return []
    with write_transaction(db.session):
        return packs.install_packs(db.session, sm.workflows, SYSTEM, sm.clock(), missing)


@click.command("seed-demo")
@click.option("--size", default=2000, show_default=True, type=click.IntRange(0, 10_000_000))
@click.option("--pack", type=click.Choice(registry.PACKS), default=None, help="Only this pack.")
def seed_demo(size: int, pack: str | None) -> None:
    """Load the workflow packs and SIZE realistic entities with history."""
    names = (pack,) if pack else registry.PACKS
    _install_missing_packs(names)
    sm = StateManager.get_instance()
    workflows = sm.workflows.all(db.session)
    types = list(registry.load_pack(pack)["types"]) if pack else None
    started = time.perf_counter()
    counts = seed.seed(db.session, workflows, size, sm.clock(), types, progress=click.echo,
                       keyring=sm.keyring)
    click.echo(f"Loaded {sum(counts.values()):,} entities in {time.perf_counter() - started:.1f} s.")


def seed_if_empty() -> None:
    """First start: the packs and the default demo data."""
    _install_missing_packs(registry.PACKS)
    if db.session.scalar(select(func.count()).select_from(select(Entity.id).limit(1).subquery())):
        return
    sm = StateManager.get_instance()
    click.echo("Loading demo data (first start)...")
    seed.seed(db.session, sm.workflows.all(db.session), 2000, sm.clock(), keyring=sm.keyring)


@workflows_cli.command("export")
@click.argument("entity_type")
def workflows_export(entity_type: str) -> None:
    """Print TYPE's workflow as a declarative JSON file."""
    sm = StateManager.get_instance()
    try:
        doc = registry.export_document(db.session, sm.workflows, entity_type)
    except StatekeeperError as err:
        raise click.ClickException(err.message) from err
    click.echo(json.dumps(doc, indent=2, sort_keys=False))


@workflows_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def workflows_import(file: str) -> None:
    """Load a workflow file (as written by export) — validated before anything is saved.

    When it changes a type's fields, it first prints how many stored entities the new fields
    would refuse (by field), then imports anyway: nothing stored is rewritten."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise click.ClickException(f"{file} is not valid JSON: {err}") from err
    sm = StateManager.get_instance()
    try:
        schema.check_file(doc)  # the file format's own message first, as import_document gives it
        for report in editing.import_impact(db.session, sm.workflows.all(db.session),
                                            text.encode()):
            for sentence in report.sentences():
                click.echo(f"Warning: {sentence}", err=True)
        with write_transaction(db.session):
            types = packs.import_document(db.session, sm.workflows, doc, SYSTEM, sm.clock())
    except schema.DocumentInvalid as err:  # one line per bad key, each with its path
        heading = f"Nothing was imported: {file} does not fit the workflow file format."
        raise click.ClickException("\n".join([heading, *err.problems])) from err
    except StatekeeperError as err:
        detail = " ".join(getattr(err, "fields", {}).values())
        raise click.ClickException(f"{err.message} {detail}".strip()) from err
    click.echo(f"Imported: {', '.join(types)}")


def register(app: Flask) -> None:
    from webapp.cli_sweeps import sweep_cli

    for command in (seed_demo, workflows_cli, sweep_cli):
        app.cli.add_command(command)

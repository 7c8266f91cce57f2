"""`flask keys rotate|status|generate`: the keys that encrypt sensitive fields (CONTRACT §7).

A rotation has three steps, and re-running ``keys rotate`` resumes at whichever is unfinished:
a new key becomes current (written to ``instance/data_key``, which running processes re-read
within a second; with STATEKEEPER_DATA_KEY the operator puts it first and restarts), every
sealed value is re-encrypted under it in chunks, and the old keys are dropped once nothing
uses them.
"""
from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from webapp.core.changes.manager import StateManager
from webapp.core.fields import rotation
from webapp.core.fields.secrets import Keyring, KeyringError, new_key
from webapp.extensions import db

keys_cli = AppGroup("keys", help="The keys that encrypt sensitive fields.")


@keys_cli.command("rotate")
@click.option("--new-key", default=None, help="Make this key current (as `keys generate` "
              "prints one) instead of a new random one.")
@click.option("--chunk", default=rotation.CHUNK, show_default=True,
              type=click.IntRange(1, 100_000), help="Entities re-encrypted per transaction.")
def keys_rotate(new_key: str | None, chunk: int) -> None:
    """Re-encrypt every sensitive value under a new key, then drop the old keys."""
    sm = StateManager.get_instance()
    _start(sm.keyring, new_key)
    try:
        indexed = rotation.unique_fields(
            {t: wf.fields for t, wf in sm.workflows.all(db.session).items()})
        db.session.rollback()  # the rotation's chunks open transactions of their own
        total = rotation.reseal_all(db.session, sm.keyring, sm.clock, chunk, _progress, indexed)
    except rotation.RotationBusy as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Re-encrypted {total.values:,} values under key {sm.keyring.current_id}.")
    if total.unreadable:
        click.echo(f"{total.unreadable:,} values could not be opened with their key "
                   f"(damaged); they keep it.")
    _finish(sm.keyring)


@keys_cli.command("status")
def keys_status() -> None:
    """The current key, and how many rows still use each older one."""
    keyring = StateManager.get_instance().keyring
    where = keyring.path or "STATEKEEPER_DATA_KEY"
    click.echo(f"Current key: {keyring.current_id} (from {where})")
    for kid, rows in rotation.still_using(db.session, keyring.old_ids).items():
        click.echo(f"Old key {kid}: used by {rows:,} rows")


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new random key (for STATEKEEPER_DATA_KEY or `keys rotate --new-key`)."""
    click.echo(new_key())


def _start(keyring: Keyring, key: str | None) -> None:
    """Make the new key current, unless a rotation is already under way (then resume it)."""
    if keyring.old_ids and key is None:
        click.echo(f"Resuming the rotation to key {keyring.current_id}.")
        return
    if not keyring.kept_in_file:
        raise click.ClickException(
            "The keys come from STATEKEEPER_DATA_KEY, which this command cannot change: put a "
            "new key first (STATEKEEPER_DATA_KEY=<new>,<old>; `keys generate` prints one), "
            "restart every process, then run `keys rotate` again.")
    try:
        kid = keyring.add_key(key)
    except KeyringError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Key {kid} is now the current key ({keyring.path}); the old keys stay until "
               f"nothing uses them.")
    # Running processes re-read the key file this often: after the wait they all seal with
    # the new key, so nothing new is sealed with an old one while the values are re-encrypted.
    time.sleep(2 * keyring.RELOAD_SECONDS)


def _progress(p: rotation.Progress) -> None:
    history = f", {p.history_rows:,} history rows" if p.what == "entities" else ""
    click.echo(f"{p.what} up to #{p.up_to_id:,} of #{p.last_id:,}: {p.values:,} values "
               f"re-encrypted ({p.rows:,} {p.what}{history})")


def _finish(keyring: Keyring) -> None:
    old = keyring.old_ids
    left = {kid: rows for kid, rows in rotation.still_using(db.session, old).items() if rows}
    if left:
        click.echo("Still sealed under an old key (written meanwhile, or damaged): "
                   + ", ".join(f"key {kid} in {rows:,} rows" for kid, rows in left.items())
                   + ". Run `keys rotate` again to finish; the old keys are kept until then.")
        sys.exit(1)
    if not old:
        return
    if keyring.kept_in_file:
        keyring.drop_keys(old)
        click.echo(f"Dropped old key(s) {', '.join(old)}: nothing uses them any more.")
    else:
        click.echo(f"Nothing uses key(s) {', '.join(old)} any more: remove them from "
                   f"STATEKEEPER_DATA_KEY and restart.")

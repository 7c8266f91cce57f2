"""Data commands: seed-demo, workflows export/import, sweep run."""
from __future__ import annotations

from flask import Flask


def seed_if_empty() -> None:
    """Load the demo data on first start."""


def register(app: Flask) -> None:
    """Add the data commands to the app's CLI."""

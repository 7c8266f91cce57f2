"""Background threads: started only from wsgi.py when STATEKEEPER_BACKGROUND=1."""
from __future__ import annotations

from flask import Flask


def start_background(app: Flask) -> None:
    """Start the sweep and event-delivery workers for this process."""

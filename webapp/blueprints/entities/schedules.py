"""Scheduled transitions on the entity page: make, list, cancel (CONTRACT §8)."""
from webapp.blueprints.entities import bp  # noqa: F401

"""The SLA badge on the entity page and the SLA helpers lists use (CONTRACT §8)."""
from webapp.blueprints.entities import bp  # noqa: F401

"""The dashboard's list of refused timers and failed schedules (CONTRACT §8)."""
from webapp.blueprints.dashboard.views import bp  # noqa: F401

from webapp.blueprints.dashboard import timers  # noqa: F401  (its helpers register on bp)
from webapp.blueprints.dashboard.views import bp

__all__ = ["bp"]

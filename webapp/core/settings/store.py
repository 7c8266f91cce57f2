"""Runtime settings that config editors tune: declared once, validated, only overrides stored."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput
from webapp.models import SettingChange, SettingOverride


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    description: str
    group: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None

    def coerce(self, raw: Any) -> Any:
        """Check the type strictly (no guessing from strings) and the bounds."""
        if self.type is bool:
            if not isinstance(raw, bool):
                raise ValueError("must be true or false")
            return raw
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("must be a number")  # noqa: TRY004 -- shown as a form message
        if self.type is int and (not float(raw).is_integer()):
            raise ValueError("must be a whole number")
        value = self.type(raw)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}")
        return value


REGISTRY: dict[str, Setting] = {}


def declare(key: str, type_: type, default: Any, description: str, group: str, **kw: Any) -> None:
    REGISTRY[key] = Setting(key, type_, default, description, group, **kw)


_PLURALS = {"property": "properties", "community": "communities"}
_GRACE = {"builder": (90, 60), "community": (180, 120), "property": (60, 45), "sales_rep": (60, 45)}
for _type, (_grace, _warn) in _GRACE.items():
    declare(f"{_type}_grace_period", int, _grace,
            f"Days without activity before a {_type.replace('_', ' ')} is made inactive.",
            "Grace periods", unit="days", minimum=1, maximum=3650)
    declare(f"{_type}_warning_period", int, _warn,
            f"Days without activity before a {_type.replace('_', ' ')} is warned.",
            "Grace periods", unit="days", minimum=1, maximum=3650)
    declare(f"{_type}_auto_inactivate", bool, True,
            f"Let the sweep inactivate quiet {_PLURALS.get(_type, _type.replace('_', ' ') + 's')}.",
            "Automatic actions")
declare("community_limited_availability_threshold", int, 10,
        "A community with this many available properties or fewer becomes limited availability.",
        "Thresholds", unit="properties", minimum=0, maximum=100000)
declare("payroll_cutoff_day", int, 25, "Attendance cannot be approved after this day of the month.",
        "Thresholds", unit="day of month", minimum=1, maximum=31)
declare("property_bulk_operation_max", int, 1000, "Most properties one bulk request may change.",
        "Limits", unit="entities", minimum=1, maximum=1000)
declare("sweep_interval_minutes", int, 60, "Minutes between grace-period sweeps.", "Sweeps",
        unit="minutes", minimum=1, maximum=1440)
declare("notify_on_inactivation", bool, True, "Add a notification when the sweep inactivates.",
        "Notifications")
declare("notify_on_cascade", bool, True, "Add a notification for cascaded changes.", "Notifications")
declare("webhook_max_attempts", int, 8, "Delivery attempts before a webhook event is dead.",
        "Webhooks", minimum=1, maximum=50)
declare("webhook_backoff_seconds", int, 30, "First retry delay; doubles on each attempt.",
        "Webhooks", unit="seconds", minimum=1, maximum=86400)
declare("audit_retention_days", int, 365, "Audit entries older than this are archived.", "Audit",
        unit="days", minimum=30, maximum=36500)
declare("search_rate_limit_per_5min", int, 100, "Searches one user may run in five minutes.",
        "Rate limits", unit="requests", minimum=1, maximum=100000)


def cross_field_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """Checks across settings: a warning must come before the inactivation it warns about."""
    errors = {}
    for type_ in _GRACE:
        warn, grace = values[f"{type_}_warning_period"], values[f"{type_}_grace_period"]
        if warn >= grace:
            errors[f"{type_}_warning_period"] = (
                f"must be shorter than the grace period ({grace} days)")
    return errors


class SettingsStore:
    """Reads settings with a short in-process cache; writes validate, record history, audit."""

    def __init__(self, ttl_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._ttl, self._clock = ttl_seconds, clock
        self._cache: dict[str, Any] | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def invalidate(self) -> None:
        self._cache = None

    def all(self, session: Session) -> dict[str, Any]:
        """Every setting's effective value; falls back to the last known values or defaults."""
        with self._lock:
            if self._cache is None or self._clock() - self._loaded_at > self._ttl:
                self._cache, self._loaded_at = self._load(session), self._clock()
            return dict(self._cache)

    def get(self, session: Session, key: str) -> Any:
        return self.all(session)[key]

    def _load(self, session: Session) -> dict[str, Any]:
        values = {k: s.default for k, s in REGISTRY.items()}
        try:
            rows = session.execute(select(SettingOverride.key, SettingOverride.value)).all()
        except Exception as exc:  # noqa: BLE001 -- database unreadable: serve what we know
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            return self._cache or values
        self.last_error = None
        for key, raw in rows:
            if key in REGISTRY:
                try:
                    values[key] = REGISTRY[key].coerce(raw)
                except ValueError:
                    pass  # a bad stored value never crashes a page: the default stands
        return values

    def validate(self, session: Session, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Return the coerced new values or raise InvalidInput with one error per key."""
        errors: dict[str, str] = {}
        coerced: dict[str, Any] = {}
        for key, raw in changes.items():
            if key not in REGISTRY:
                errors[key] = "unknown setting"
                continue
            try:
                coerced[key] = REGISTRY[key].coerce(raw)
            except ValueError as exc:
                errors[key] = str(exc)
        if not errors:
            errors = cross_field_errors({**self.all(session), **coerced})
        if errors:
            raise InvalidInput("Some settings are not valid.", errors)
        return coerced

    def apply(self, session: Session, values: Mapping[str, Any], actor: str, now: datetime) -> dict:
        """Store validated values inside the caller's transaction; return {key: (old, new)}."""
        current = self.all(session)
        changed = {k: (current[k], v) for k, v in values.items() if current[k] != v}
        for key, (old, new) in changed.items():
            row = session.get(SettingOverride, key)
            if new == REGISTRY[key].default:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(SettingOverride(key=key, value=new, updated_at=now, updated_by=actor))
            else:
                row.value, row.updated_at, row.updated_by = new, now, actor
            session.add(SettingChange(key=key, old=old, new=new, actor=actor, created_at=now))
        self.invalidate()
        return changed

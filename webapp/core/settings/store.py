"""Runtime settings that config editors tune: declared once, validated, only overrides stored.

Two kinds of declarations make up the settings in force:
- the generic ones, declared here: how the sweep, notifications, webhooks, audit and rate
  limits behave whatever the workflows are;
- those a workflow declares in its ``settings`` block (grace periods, thresholds, limits):
  the workflows package hands them over -- the built-in packs' once, at import
  (``declare_builtin``), and those of the workflows in the database through the store's
  ``declared`` source. This package never reads workflows itself.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput
from webapp.core.base.words import label
from webapp.models import SettingChange, SettingOverride

#: A declared setting's ``type`` in a workflow file, and the Python type it holds.
SPEC_TYPES: dict[str, type] = {"integer": int, "boolean": bool}
#: Every key a setting's declaration may have (anything else is refused, so typos show).
SPEC_KEYS = ("type", "default", "description", "min", "max", "unit", "group", "label", "below")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
_TIME_UNITS = ("days", "hours", "minutes", "seconds")


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
    #: How messages name it ("grace period"); the key in words when empty.
    label: str = ""
    #: Another setting this one must stay below (a warning comes before what it warns of).
    below: str | None = None

    @property
    def name(self) -> str:
        return self.label or label(self.key)

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

    @classmethod
    def from_spec(cls, key: Any, spec: Any, group: str = "Workflow settings") -> Setting:
        """A declaration from a workflow file's ``settings`` block; ValueError says what is
        wrong in a sentence that names the setting."""
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ValueError(f"setting {key!r}: a setting's name is lower-case letters, digits "
                             f"and _ (at most 80)")
        if not isinstance(spec, dict):
            raise ValueError(f"setting {key!r} must be an object")  # noqa: TRY004
        unknown = sorted(set(spec) - set(SPEC_KEYS))
        if unknown:
            raise ValueError(f"setting {key!r} has unknown key(s) {', '.join(map(repr, unknown))}; "
                             f"a setting may have {', '.join(SPEC_KEYS)}")
        type_ = SPEC_TYPES.get(spec["type"]) if isinstance(spec.get("type"), str) else None
        if type_ is None:
            raise ValueError(f"setting {key!r}: type must be one of {', '.join(SPEC_TYPES)}")
        texts = _texts(key, spec)
        setting = cls(key, type_, spec.get("default"), texts["description"],
                      texts["group"] or group, texts["unit"], *_bounds(key, type_, spec),
                      label=texts["label"], below=_below(key, type_, spec.get("below")))
        try:
            return replace(setting, default=setting.coerce(setting.default))
        except ValueError as exc:
            raise ValueError(f"setting {key!r}: the default {exc}") from None

    def to_spec(self) -> dict[str, Any]:
        """The inverse of ``from_spec``: the declaration as a workflow file writes it."""
        spec: dict[str, Any] = {"type": next(k for k, t in SPEC_TYPES.items() if t is self.type),
                                "default": self.default}
        if self.minimum is not None:
            spec["min"], spec["max"] = self.minimum, self.maximum
        optional = {"unit": self.unit, "label": self.label, "below": self.below}
        spec.update({k: v for k, v in optional.items() if v})
        return spec | {"group": self.group, "description": self.description}


def _texts(key: str, spec: dict[str, Any]) -> dict[str, str]:
    texts = {k: spec.get(k, "") for k in ("description", "unit", "group", "label")}
    if any(not isinstance(v, str) for v in texts.values()) or not texts["description"].strip():
        raise ValueError(f"setting {key!r}: description (required), unit, group and label "
                         f"are text")
    return texts | {"description": texts["description"].strip()}


def _bounds(key: str, type_: type, spec: dict[str, Any]) -> tuple[float | None, float | None]:
    """A number needs both bounds (the editor shows them, nothing unbounded is stored)."""
    low, high = spec.get("min"), spec.get("max")
    if type_ is bool:
        if low is not None or high is not None:
            raise ValueError(f"setting {key!r}: min and max are for integer settings")
        return None, None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
        raise ValueError(f"setting {key!r}: an integer setting needs whole-number min and max")
    if low > high:
        raise ValueError(f"setting {key!r}: min must not be above max")
    return low, high


def _below(key: str, type_: type, below: Any) -> str | None:
    if below is None:
        return None
    if type_ is not int or not isinstance(below, str) or below == key:
        raise ValueError(f"setting {key!r}: below names another integer setting")
    return below


#: The generic settings, declared below: every install has them, whatever its workflows.
GENERIC: dict[str, Setting] = {}
#: The settings the built-in workflow packs declare (handed over by the workflows package).
_BUILTIN: dict[str, Setting] = {}
#: What a store knows without reading any workflow: the built-in packs' settings and the
#: generic ones. The dict is kept (and updated in place), as readers import it by name;
#: the settings in force are ``SettingsStore.registry(session)``.
REGISTRY: dict[str, Setting] = {}


def declare(key: str, type_: type, default: Any, description: str, group: str, **kw: Any) -> None:
    """Declare a generic setting (workflows declare theirs in their files instead)."""
    GENERIC[key] = Setting(key, type_, default, description, group, **kw)
    _rebuild_registry()


def declare_builtin(settings: Iterable[Setting]) -> None:
    """Add the settings a built-in pack declares; a generic setting is never replaced."""
    _BUILTIN.update((s.key, s) for s in settings if s.key not in GENERIC)
    _rebuild_registry()


def _rebuild_registry() -> None:
    # The packs' settings first: the settings page lists their groups before the generic ones.
    merged = {**_BUILTIN, **GENERIC}
    REGISTRY.clear()
    REGISTRY.update(merged)


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


def cross_field_errors(values: Mapping[str, Any], registry: Mapping[str, Setting] = REGISTRY
                       ) -> dict[str, str]:
    """Checks across settings: each one declared ``below`` another stays below it (a warning
    period must be shorter than the grace period it warns about)."""
    errors = {}
    for key, s in registry.items():
        limit = registry.get(s.below) if s.below else None
        if limit is None or key not in values or limit.key not in values:
            continue
        if values[key] >= values[limit.key]:
            word = "shorter" if limit.unit in _TIME_UNITS else "less"
            unit = f" {limit.unit}" if limit.unit else ""
            errors[key] = f"must be {word} than the {limit.name.lower()} ({values[limit.key]}{unit})"
    return errors


class DeclaredSettings(Protocol):
    """Where the settings of the workflows in force come from (the workflow registry).

    ``generation`` changes whenever those workflows may have changed in this process, so a
    store notices an import at once instead of after its cache expires."""

    generation: int

    def declared_settings(self, session: Session) -> Mapping[str, Setting]: ...


class SettingsStore:
    """Reads settings with a short in-process cache; writes validate, record history, audit.

    The settings in force are the generic ones, the built-in packs' and those ``declared``
    by the workflows in the database; without ``declared`` (a store on its own, as in
    tests of this package) only the first two.
    """

    def __init__(self, ttl_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 declared: DeclaredSettings | None = None):
        self._ttl, self._clock = ttl_seconds, clock
        self._declared = declared
        self._cache: dict[str, Any] | None = None
        self._registry: dict[str, Setting] = dict(REGISTRY)
        self._generation: int | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def invalidate(self) -> None:
        self._cache = None

    def all(self, session: Session) -> dict[str, Any]:
        """Every setting's effective value; falls back to the last known values or defaults."""
        with self._lock:
            self._refresh(session)
            return dict(self._cache or {})

    def get(self, session: Session, key: str) -> Any:
        return self.all(session)[key]

    def registry(self, session: Session) -> dict[str, Setting]:
        """The declarations in force, by key: what ``all`` has a value for."""
        with self._lock:
            self._refresh(session)
            return dict(self._registry)

    def _refresh(self, session: Session) -> None:
        generation = self._declared.generation if self._declared else None
        if (self._cache is None or self._clock() - self._loaded_at > self._ttl
                or generation != self._generation):
            self._cache = self._load(session)
            self._loaded_at = self._clock()
            # As of this load (which may itself have reloaded the workflows).
            self._generation = self._declared.generation if self._declared else None

    def _load(self, session: Session) -> dict[str, Any]:
        try:
            registry = self._load_registry(session)
            rows = session.execute(select(SettingOverride.key, SettingOverride.value)).all()
        except Exception as exc:  # noqa: BLE001 -- database unreadable: serve what we know
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            return self._cache or {k: s.default for k, s in self._registry.items()}
        self.last_error = None
        self._registry = registry
        values = {k: s.default for k, s in registry.items()}
        for key, raw in rows:
            if key in registry:
                try:
                    values[key] = registry[key].coerce(raw)
                except ValueError:
                    pass  # a bad stored value never crashes a page: the default stands
        return values

    def _load_registry(self, session: Session) -> dict[str, Setting]:
        """The built-in packs' settings, then the workflows' (an edited built-in type's
        declarations replace the shipped ones), then the generic ones."""
        if self._declared is None:
            return dict(REGISTRY)
        declared = self._declared.declared_settings(session)
        merged = {**_BUILTIN, **{k: s for k, s in declared.items() if k not in GENERIC}}
        return merged | GENERIC

    def validate(self, session: Session, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Return the coerced new values or raise InvalidInput with one error per key."""
        registry = self.registry(session)
        errors: dict[str, str] = {}
        coerced: dict[str, Any] = {}
        for key, raw in changes.items():
            if key not in registry:
                errors[key] = "unknown setting"
                continue
            try:
                coerced[key] = registry[key].coerce(raw)
            except ValueError as exc:
                errors[key] = str(exc)
        if not errors:
            errors = cross_field_errors({**self.all(session), **coerced}, registry)
        if errors:
            raise InvalidInput("Some settings are not valid.", errors)
        return coerced

    def apply(self, session: Session, values: Mapping[str, Any], actor: str, now: datetime) -> dict:
        """Store validated values inside the caller's transaction; return {key: (old, new)}."""
        current, registry = self.all(session), self.registry(session)
        changed = {k: (current[k], v) for k, v in values.items() if current[k] != v}
        for key, (old, new) in changed.items():
            row = session.get(SettingOverride, key)
            if new == registry[key].default:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(SettingOverride(key=key, value=new, updated_at=now, updated_by=actor))
            else:
                row.value, row.updated_at, row.updated_by = new, now, actor
            session.add(SettingChange(key=key, old=old, new=new, actor=actor, created_at=now))
        self.invalidate()
        return changed

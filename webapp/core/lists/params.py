"""A list's parameters: which query values make its filter (``FILTER_PARAMS``), the filter
and sort they parse into (``Filters``, ``Sort``), checked as they are read. listing.py pages
through them; the bulk hand-over and saved views keep the same parameters.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from webapp.core.base.errors import ID_MAX, InvalidInput
from webapp.core.fields import kinds
from webapp.core.fields.spec import FieldSpec
from webapp.core.lists import field_filters, sla_filters
from webapp.core.lists.field_filters import FieldFilter
from webapp.models import Entity

SORTS = {"id": Entity.id, "name": Entity.name, "status": Entity.status,
         "last_activity_at": Entity.last_activity_at}
#: The query parameters that make a list's filter, besides ``type`` and the ``data.<field>``
#: filters: what filters_from_params reads, what the bulk hand-over and saved views keep.
FILTER_PARAMS = ("status", "q", "parent_id", "quiet_days", "sla")


def is_filter_param(key: str) -> bool:
    """A list filter's parameter: one of FILTER_PARAMS or a declared field's ``data.*``."""
    return key in FILTER_PARAMS or key.startswith("data.")


#: How far a list counts its matches before saying "1,000+" instead of a number.
COUNT_CAP = 1000


@dataclass(frozen=True)
class Filters:
    type: str | None = None
    status: str | None = None
    q: str | None = None
    parent_id: int | None = None
    #: Only entities with no activity since this time ("quiet for N days").
    inactive_since: datetime | None = None
    #: Conditions on the type's declared, filterable fields (``data.price__gte``).
    fields: tuple[FieldFilter, ...] = ()
    #: Only entities with an SLA clock breached or at risk (``sla=``, lists/sla_filters.py).
    sla: sla_filters.SlaFilter | None = None


@dataclass(frozen=True)
class Sort:
    """A sort column (a key of SORTS, or ``data.<field>`` with the field's spec) and a
    direction; ``-name`` is name, descending."""

    key: str = "id"
    descending: bool = True
    spec: FieldSpec | None = None

    @classmethod
    def parse(cls, raw: str | None, specs: Mapping[str, FieldSpec] | None = None,
              type_label: str = "This type") -> Sort:
        """``specs``: the listed type's fields, when a sort on a filterable one is allowed."""
        if not raw:
            return cls()
        key = raw.lstrip("-")
        if key.startswith("data.") and specs is not None:
            try:
                spec = field_filters.field(key.removeprefix("data."), specs, type_label)
            except kinds.Bad as bad:
                raise InvalidInput("That sort cannot be used.", {"sort": str(bad)}) from None
            return cls(key, raw.startswith("-"), spec)
        if key == sla_filters.SORT:
            return cls(key, raw.startswith("-"))
        if key not in SORTS:
            raise InvalidInput("Unknown sort.", {"sort": f"Sort by one of: {', '.join(SORTS)}."})
        return cls(key, raw.startswith("-"))

    @property
    def token(self) -> str:
        return ("-" if self.descending else "") + self.key

    @property
    def field(self) -> str | None:
        """The declared field sorted on, if any."""
        return self.key.removeprefix("data.") if self.spec is not None else None

    def flipped(self) -> Sort:
        return Sort(self.key, not self.descending, self.spec)


@dataclass
class Page:
    #: Entities, or Summary rows when browsed with ``summaries=True``.
    rows: list[Any]
    next_cursor: str | None
    prev_cursor: str | None
    #: The query's words after typo correction ("acne" -> "acme"), for "showing results for".
    words: list[str] = field(default_factory=list)


def filters_from_params(params: Mapping[str, Any], now: datetime,
                        specs: Mapping[str, FieldSpec] | None = None,
                        type_label: str = "This type") -> Filters:
    """Filters from query parameters (type, status, q, parent_id, quiet_days, and ``data.*``
    on the type's ``specs``), as the list page, the API and the bulk pages' "all matching"
    hand-over send them. A ``data.*`` parameter without ``specs`` (no type) is refused."""
    quiet = _whole_number(params.get("quiet_days"), "quiet_days", 0, 36500)
    type_ = (params.get("type") or "").strip() or None
    if specs is None and any(isinstance(k, str) and k.startswith("data.") for k in params):
        raise InvalidInput("Filter on fields within one type.",
                           {"type": "Choose a type to filter on its fields."})
    return Filters(
        type=type_,
        status=(params.get("status") or "").strip() or None,
        q=(params.get("q") or "").strip()[:200] or None,
        parent_id=_whole_number(params.get("parent_id"), "parent_id", 1, ID_MAX),
        inactive_since=now - timedelta(days=quiet) if quiet else None,
        fields=field_filters.parse(params, specs or {}, type_label),
        sla=sla_filters.parse(params.get("sla"), now),
    )


def _whole_number(raw: Any, name: str, low: int, high: int) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number.", {name: "Use a whole number."}) from exc
    if not low <= value <= high:
        raise InvalidInput(f"{name} is out of range.", {name: f"Use {low} to {high}."})
    return value

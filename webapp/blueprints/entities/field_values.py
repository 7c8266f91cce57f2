"""A type's declared fields on the entity pages: values as people read them, values that the
current fields no longer accept, and the check a posted form goes through.

Sensitive values are stored sealed; the StateManager's keyring opens them for roles that may
operate and masks them for everyone else (CONTRACT §7), here as in the API.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from webapp.blueprints.entities import fields_form
from webapp.blueprints.entities.common import manager
from webapp.blueprints.entities.names import Names
from webapp.core.fields import validation
from webapp.core.fields.spec import FieldSpec
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.models import User

SUGGESTIONS = 10


@dataclass
class Shown:
    """One field of an entity as its page shows it."""

    title: str
    text: str = ""
    #: A link the value stands for (a referenced entity, a web address).
    href: str | None = None
    #: A list field's rows: the item fields' titles, then each item's texts.
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    #: Why the stored value no longer fits the type's fields, if it does not.
    problem: str | None = None
    multiline: bool = False


def plain(specs: Mapping[str, FieldSpec], data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Stored data with its sealed values opened: what validation and the edit form read."""
    return manager().keyring.unseal(specs, dict(data or {}))


def visible(specs: Mapping[str, FieldSpec], data: Mapping[str, Any] | None,
            reveal: bool) -> dict[str, Any]:
    """Stored data as the role may see it: opened when ``reveal``, else sensitive values masked."""
    return manager().keyring.view_for(reveal, specs, dict(data or {}))


def validator(wf: Workflow, *, creating: bool, before: Mapping[str, Any] | None = None,
              entity_id: int | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The core's check of a form's data: strings read as typed (``from_text``)."""
    def check(data: dict[str, Any]) -> dict[str, Any]:
        return validation.validate(
            wf.fields, data, lookups=validation.Lookups(db.session, wf.entity_type, manager().keyring),
            creating=creating, before=before, entity_id=entity_id, from_text=True)
    return check


def names() -> Names:
    return Names(db.session, manager().vocabulary)


def problems(wf: Workflow, data: Mapping[str, Any]) -> dict[str, str]:
    """Stored values the type's current fields refuse, by key (``data.price``): what was
    written before the fields changed stays readable, and is flagged. Only shapes are checked
    (no database questions), as an edit that leaves them as they are would be."""
    _, errors = validation.check(wf.fields, data, lookups=validation.Lookups(None, wf.entity_type),
                                 creating=False, before=data)
    return errors


def undeclared(wf: Workflow, data: Mapping[str, Any]) -> list[str]:
    """Keys the data holds that the type does not declare (left from before its fields)."""
    return [key for key in data if key not in wf.fields] if wf.fields else []


def shown(wf: Workflow, stored: Mapping[str, Any], reveal: bool,
          address: Callable[[int], str]) -> list[Shown]:
    """Every declared field (set or not) and every undeclared key, ready to print."""
    flagged = problems(wf, plain(wf.fields, stored))
    data = visible(wf.fields, stored, reveal)
    titles = names().names(fields_form.referenced_ids(wf.fields, data))
    out = []
    for name, spec in wf.fields.items():
        item = _shown(spec, spec.title(name), data.get(name), titles, address)
        item.problem = _problem(flagged, f"data.{name}")
        out.append(item)
    for key in undeclared(wf, data):
        out.append(Shown(key, _scalar(data[key]), problem=_problem(flagged, f"data.{key}")))
    return out


def _problem(flagged: Mapping[str, str], key: str) -> str | None:
    """The sentences about one field and its parts (a list's rows, a location's halves)."""
    found = [m for k, m in flagged.items() if k == key or k.startswith((key + "[", key + "."))]
    return " ".join(found) or None


def _shown(spec: FieldSpec, title: str, value: Any, titles: Mapping[int, str],
           address: Callable[[int], str]) -> Shown:
    if value is None or value == "" or value == []:
        return Shown(title)
    if spec.type == "list" and isinstance(value, list):
        return _table(spec, title, value, titles, address)
    if spec.type == "reference" and isinstance(value, int) and not isinstance(value, bool):
        name = titles.get(value)
        return Shown(title, name or f"#{value} (not found)", address(value) if name else None)
    if spec.type == "url" and isinstance(value, str) and value.startswith(("http://", "https://")):
        return Shown(title, value, value)
    return Shown(title, text(spec, value), multiline=spec.type == "textarea")


def _table(spec: FieldSpec, title: str, items: list[Any], titles: Mapping[int, str],
           address: Callable[[int], str]) -> Shown:
    specs = spec.item_fields or {}
    rows = [[_shown(s, n, item.get(n), titles, address).text for n, s in specs.items()]
            if isinstance(item, dict) else [_scalar(item)] for item in items]
    return Shown(title, columns=[s.title(n) for n, s in specs.items()], rows=rows)


def text(spec: FieldSpec, value: Any) -> str:
    """A stored value in words: 350,000.50, Yes, 2025-03-01 09:30 UTC, 48.85, 2.35."""
    if spec.type == "boolean" and isinstance(value, bool):
        return "Yes" if value else "No"
    if spec.type in ("integer", "decimal") and not isinstance(value, bool):
        return _number(value)
    if spec.type == "datetime" and isinstance(value, str):
        return _moment(value)
    if spec.type == "location" and isinstance(value, dict):
        return f"{value.get('lat')}, {value.get('lon')}"
    if spec.type == "list" and isinstance(value, list):
        return "; ".join(_item_text(spec.item_fields or {}, item) for item in value)
    return _scalar(value)


def _item_text(specs: Mapping[str, FieldSpec], item: Any) -> str:
    if not isinstance(item, dict):
        return _scalar(item)
    return ", ".join(f"{s.title(n)}: {text(s, item[n])}" for n, s in specs.items() if n in item)


def title(wf: Workflow | None, key: str) -> str | None:
    """A declared field's title (None for a key the type does not declare)."""
    spec = wf.fields.get(key) if wf else None
    return spec.title(key) if spec else None


def in_words(wf: Workflow | None, key: str, value: Any, reveal: bool) -> str:
    """A stored value of ``key`` in words (e.g. in a history row), sealed values opened or
    masked for the role; a key the type does not declare is shown as the JSON it is."""
    specs = wf.fields if wf else {}
    value = visible(specs, {key: value}, reveal)[key]
    spec = specs.get(key)
    if spec is None:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text(spec, value)


def _number(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):,}"
    except (InvalidOperation, ValueError):
        return _scalar(value)


def _moment(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return value


def _scalar(value: Any) -> str:
    return fields_form.plain_text(value)


def usernames(text: str) -> list[str]:
    """Enabled users whose name contains ``text``, those starting with it first."""
    wanted = text.strip().lower()
    if not wanted:
        return []
    pattern = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = db.session.scalars(select(User.username).where(
        User.is_enabled.is_(True), User.username.ilike(pattern, escape="\\"))
        .order_by(User.username).limit(100)).all()
    return sorted(found, key=lambda n: not n.lower().startswith(wanted))[:SUGGESTIONS]

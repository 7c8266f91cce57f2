"""Saved views (CONTRACT §11): a named list filter of one type, personal or shared, and the
field columns each person chose for a type's list.

A view keeps the list's parameters as they were (``{"status": "active", "data.price__gte":
"300000", "sort": "-data.price"}``) and is checked against the type's fields when saved, so a
view that cannot run is refused with the parameter named. Fields change later: a view whose
field was removed or is no longer filterable is kept and says so (``problem``) instead of
failing the list or the dashboard.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.core.base.errors import InvalidInput, NotFound, PermissionDenied
from webapp.core.lists import listing, search
from webapp.core.workflows.definition import Workflow
from webapp.models import ListColumns, SavedView

NAME_MAX = 100
#: Views one person may keep (shared ones included).
VIEWS_MAX = 200
#: The list parameters a view keeps, besides ``data.*`` filters.
QUERY_KEYS = (*listing.FILTER_PARAMS, "sort")
#: Most pinned views the dashboard counts.
PINNED_MAX = 12


def visible(session: Session, user_id: int) -> list[SavedView]:
    """A person's own views and everyone's shared views, by name."""
    return list(session.scalars(select(SavedView).where(
        or_(SavedView.owner_id == user_id, SavedView.shared.is_(True)))
        .order_by(SavedView.name, SavedView.id)))


_VIEWS, _COLUMNS = SavedView.__table__.c, ListColumns.__table__.c
#: Built once, as Core statements: the entity list runs both on every page, and building
#: them and loading ORM objects cost several times the queries themselves.
_MENU = select(_VIEWS.id, _VIEWS.name, _VIEWS.owner_id, _VIEWS.shared, _VIEWS.pinned).where(
    _VIEWS.entity_type == bindparam("entity_type"),
    or_(_VIEWS.owner_id == bindparam("user_id"), _VIEWS.shared.is_(True))
).order_by(_VIEWS.name, _VIEWS.id)
_CHOSEN = select(_COLUMNS.columns).where(_COLUMNS.user_id == bindparam("user_id"),
                                         _COLUMNS.entity_type == bindparam("entity_type"))


def menu(session: Session, user_id: int, entity_type: str) -> list[Row[Any]]:
    """``visible`` for one type's list menu: each view's id, name, owner_id, shared, pinned."""
    return list(session.execute(_MENU, {"user_id": user_id, "entity_type": entity_type}))


def get(session: Session, user_id: int, view_id: int) -> SavedView:
    view = session.get(SavedView, view_id) if 0 < view_id <= 2**31 - 1 else None
    if view is None or (view.owner_id != user_id and not view.shared):
        raise NotFound(f"No saved view {view_id}.")
    return view


def create(session: Session, owner_id: int, workflows: Mapping[str, Workflow], *, name: Any,
           entity_type: Any, query: Any, shared: Any = False, pinned: Any = False,
           columns: Any = None, now: datetime) -> SavedView:
    """Check and store a view (in the caller's transaction); a name the person already uses
    is a 409."""
    errors: dict[str, str] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX:
        errors["name"] = f"Give the view a name of 1 to {NAME_MAX} characters."
    wf = workflows.get(entity_type) if isinstance(entity_type, str) else None
    if wf is None:
        errors["type"] = f"Choose one of: {', '.join(workflows)}."
    if not isinstance(shared, bool):
        errors["shared"] = "shared is true or false."
    if not isinstance(pinned, bool):
        errors["pinned"] = "pinned is true or false."
    kept = _query(query, wf, now, errors)
    picked = _columns(columns, wf, errors)
    if errors:
        raise InvalidInput("The view cannot be saved.", errors)
    count = len(session.scalars(select(SavedView.id).where(SavedView.owner_id == owner_id)).all())
    if count >= VIEWS_MAX:
        raise InvalidInput("Too many saved views.",
                           {"name": f"Delete one first: a person keeps at most {VIEWS_MAX}."})
    view = SavedView(owner_id=owner_id, name=name, entity_type=entity_type, query=kept,
                     columns=picked, shared=shared, pinned=pinned, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(view)
            session.flush()
    except IntegrityError as exc:
        raise InvalidInput("The view cannot be saved.",
                           {"name": f"You already have a view named “{name}”."}) from exc
    return view


def _query(query: Any, wf: Workflow | None, now: datetime, errors: dict[str, str]) -> dict[str, str]:
    if not isinstance(query, dict):
        errors["query"] = "query is an object of list parameters, e.g. {\"status\": \"active\"}."
        return {}
    kept: dict[str, str] = {}
    for key, value in query.items():
        if not isinstance(key, str) or not (listing.is_filter_param(key) or key == "sort"):
            errors[f"query.{key}"] = f"Not a list parameter; use {', '.join(QUERY_KEYS)} or data.<field>."
        elif not isinstance(value, str | int | float) or isinstance(value, bool) or len(str(value)) > 500:
            errors[f"query.{key}"] = "Give a text or a number."
        elif str(value).strip():
            kept[key] = str(value).strip()
    if wf is not None and not errors:
        problem = _check(wf, kept, now)
        errors.update({f"query.{k}": v for k, v in problem.items()})
    return kept


def _columns(columns: Any, wf: Workflow | None, errors: dict[str, str]) -> list[str] | None:
    if columns is None:
        return None
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) \
            or len(columns) > 50:
        errors["columns"] = "columns is a list of field names."
        return None
    unknown = [c for c in columns if wf is not None and c not in wf.fields]
    if unknown:
        errors["columns"] = f"Not fields of {wf.label if wf else 'the type'}: {', '.join(unknown)}."
    return list(dict.fromkeys(columns))


def _check(wf: Workflow, query: Mapping[str, str], now: datetime) -> dict[str, str]:
    """What is wrong with running ``query`` on ``wf``'s list today, by parameter."""
    try:
        listing.filters_from_params({**query, "type": wf.entity_type}, now, wf.fields, wf.label)
        listing.Sort.parse(query.get("sort"), wf.fields, wf.label)
    except InvalidInput as err:
        return dict(err.fields or {"query": err.message})
    return {}


def problem(view: SavedView, workflows: Mapping[str, Workflow], now: datetime) -> str | None:
    """Why the view cannot run as saved (its type or a field was removed), or None."""
    wf = workflows.get(view.entity_type)
    if wf is None:
        return f"Its type {view.entity_type!r} no longer exists."
    found = _check(wf, view.query, now)
    if not found:
        return None
    return "It cannot run as saved: " + " ".join(f"{k}: {v}" for k, v in found.items())


def count(session: Session, vocabulary: search.Vocabulary, view: SavedView, wf: Workflow,
          now: datetime) -> int:
    """How many entities the view matches, counted no further than listing.COUNT_CAP + 1."""
    f = listing.filters_from_params({**view.query, "type": view.entity_type}, now, wf.fields,
                                    wf.label)
    return listing.capped_count(session, vocabulary, f)


def remove(session: Session, user_id: int, view_id: int, *, may_manage_shared: bool) -> None:
    """Delete a view: its owner may, and an admin may delete a shared one."""
    view = get(session, user_id, view_id)
    if view.owner_id != user_id and not may_manage_shared:
        raise PermissionDenied("Only its owner or an admin may delete a shared view.")
    session.execute(delete(SavedView).where(SavedView.id == view.id))


def to_dict(view: SavedView) -> dict[str, Any]:
    return {"id": view.id, "name": view.name, "type": view.entity_type, "query": view.query,
            "columns": view.columns, "shared": view.shared, "pinned": view.pinned,
            "owner_id": view.owner_id, "created_at": view.created_at.isoformat()}


# ------------------------------------------------------------------- columns


def chosen_columns(session: Session, user_id: int, entity_type: str) -> list[str] | None:
    row = session.execute(_CHOSEN, {"user_id": user_id, "entity_type": entity_type}).first()
    return list(row[0]) if row is not None else None


def choose_columns(session: Session, user_id: int, wf: Workflow, names: list[str]) -> None:
    """Remember one person's field columns for a type (an empty choice: the listed fields)."""
    unknown = [n for n in names if n not in wf.fields]
    if unknown:
        raise InvalidInput("Unknown columns.", {"columns": f"Not fields of {wf.label}: "
                                                           f"{', '.join(unknown)}."})
    row = session.get(ListColumns, (user_id, wf.entity_type))
    if not names:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(ListColumns(user_id=user_id, entity_type=wf.entity_type,
                                columns=list(dict.fromkeys(names))))
    else:
        row.columns = list(dict.fromkeys(names))

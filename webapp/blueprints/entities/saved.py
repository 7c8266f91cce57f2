"""What a person keeps of the entity list: saved views (open, save, pin, delete) and the
field columns chosen for a type (core/lists/saved_views.py holds the rules)."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_login import current_user

from webapp.blueprints.entities import bp
from webapp.blueprints.entities.common import manager, workflows
from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.base.transactions import write_transaction
from webapp.core.lists import listing, saved_views
from webapp.extensions import db
from webapp.models import SavedView
from webapp.permissions import can, requires
from webapp.web_context import now


def chosen_columns(entity_type: str) -> list[str] | None:
    """The signed-in person's columns for a type's list (None: the type's listed fields)."""
    if not current_user.is_authenticated:
        return None
    return saved_views.chosen_columns(db.session, current_user.id, entity_type)


def views_of(entity_type: str) -> list[Any]:
    """The person's own and the shared views of one type, for the list's Views menu."""
    return saved_views.menu(db.session, current_user.id, entity_type)


def _list_of(entity_type: str):
    return redirect(url_for("entities.index", type=entity_type))


@bp.post("/columns")
@requires("view")
def choose_columns():
    known = workflows()
    entity_type = request.form.get("type", "")
    if entity_type not in known:
        raise NotFound(f"There is no entity type {entity_type!r}.")
    names = request.form.getlist("columns") if request.form.get("reset") != "1" else []
    try:
        with write_transaction(db.session):
            saved_views.choose_columns(db.session, current_user.id, known[entity_type], names)
    except InvalidInput as err:
        flash(" ".join(err.fields.values()) or err.message, "error")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/entities/") else url_for(
        "entities.index", type=entity_type))


@bp.get("/views/<int:view_id>")
@requires("view")
def open_view(view_id: int):
    """The list as the view saved it; a view that can no longer run says why, and the list
    opens with the filters that still apply."""
    view = saved_views.get(db.session, current_user.id, view_id)
    known = workflows()
    problem = saved_views.problem(view, known, now())
    query = dict(view.query)
    if problem:
        flash(f"The view “{view.name}”: {problem} Showing the list without those filters.",
              "warning")
        query = _runnable(view, known)
        if view.entity_type not in known:
            return redirect(url_for("entities.index"))
    return redirect(url_for("entities.index", type=view.entity_type, **query))


def _runnable(view: SavedView, known) -> dict[str, str]:
    """The view's parameters that still run alone (each one checked by itself)."""
    wf = known.get(view.entity_type)
    if wf is None:
        return {}
    keep = {}
    for key, value in view.query.items():
        probe = SavedView(entity_type=view.entity_type, query={key: value}, name=view.name)
        if saved_views.problem(probe, known, now()) is None:
            keep[key] = value
    return keep


@bp.post("/views")
@requires("view")
def save_view():
    known = workflows()
    entity_type = request.form.get("type", "")
    query = {k: v for k, v in request.form.items()
             if (listing.is_filter_param(k) or k == "sort") and v.strip()}
    try:
        with write_transaction(db.session):
            view = saved_views.create(
                db.session, current_user.id, known, name=request.form.get("name", ""),
                entity_type=entity_type, query=query,
                shared=request.form.get("shared") == "1", pinned=request.form.get("pinned") == "1",
                columns=saved_views.chosen_columns(db.session, current_user.id, entity_type),
                now=now())
    except InvalidInput as err:
        flash("The view was not saved: " + " ".join(err.fields.values() or [err.message]), "error")
        return redirect(url_for("entities.index", type=entity_type, **query)
                        if entity_type in known else url_for("entities.index"))
    flash(f"Saved the view “{view.name}”" + (" for everyone." if view.shared else "."), "success")
    return redirect(url_for("entities.index", type=entity_type, **query))


@bp.post("/views/<int:view_id>/pin")
@requires("view")
def pin_view(view_id: int):
    with write_transaction(db.session):
        view = saved_views.get(db.session, current_user.id, view_id)
        if view.owner_id != current_user.id:
            raise NotFound(f"No saved view {view_id} of yours.")
        view.pinned = not view.pinned
        name, pinned, entity_type = view.name, view.pinned, view.entity_type
    flash(f"“{name}” is {'pinned to' if pinned else 'no longer on'} the dashboard.", "success")
    return _list_of(entity_type)


@bp.post("/views/<int:view_id>/delete")
@requires("view")
def delete_view(view_id: int):
    with write_transaction(db.session):
        view = saved_views.get(db.session, current_user.id, view_id)
        name, entity_type = view.name, view.entity_type
        saved_views.remove(db.session, current_user.id, view_id,
                           may_manage_shared=can("manage_users"))
    flash(f"Deleted the view “{name}”.", "success")
    return _list_of(entity_type)


@bp.app_template_global()
def pinned_views() -> list[dict[str, object]]:
    """The dashboard's pinned views (the person's own and shared ones) with their live counts;
    a view that can no longer run shows why instead of a count."""
    if not current_user.is_authenticated:
        return []
    known = workflows()
    at = now()
    out = []
    for view in saved_views.visible(db.session, current_user.id):
        if not view.pinned or len(out) >= saved_views.PINNED_MAX:
            continue
        problem = saved_views.problem(view, known, at)
        count = None if problem else saved_views.count(
            db.session, manager().vocabulary, view, known[view.entity_type], at)
        out.append({"view": view, "count": count, "problem": problem, "cap": listing.COUNT_CAP,
                    "type_label": known[view.entity_type].label if view.entity_type in known
                    else view.entity_type,
                    "href": url_for("entities.open_view", view_id=view.id)})
    return out

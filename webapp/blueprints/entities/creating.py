"""A new entity from the browser: its name, its parent (typed by name), its first status and
its type's declared fields; and the suggestions the name inputs offer as one types."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from webapp.blueprints.entities import bp, field_values, fields_form
from webapp.blueprints.entities.common import manager, workflows
from webapp.blueprints.entities.forms import NewEntityForm
from webapp.blueprints.entities.names import labelled
from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.models import Entity
from webapp.permissions import requires
from webapp.web_context import current_actor

QUERY_MAX = 200


@bp.route("/new/<entity_type>", methods=["GET", "POST"])
@requires("operate")
def new(entity_type: str):
    if entity_type not in workflows():
        raise NotFound(f"There is no entity type {entity_type!r}.")
    wf = workflows()[entity_type]
    form = NewEntityForm()
    form.status.choices = [SelectChoice(name, state.label) for name, state in wf.states.items()]
    if request.method == "GET":
        form.status.data, form.parent.data = wf.initial, _parent_named(request.args)
        values = fields_form.build(wf.fields, values=fields_form.defaults(wf.fields))
        return _page(wf, form, values)
    values = fields_form.build(wf.fields, request.form)
    if values.change_rows(request.form):  # a list's "Add a row" or "Remove" without script
        return _page(wf, form, values)
    return _create(wf, form, values)


def _create(wf: Workflow, form: NewEntityForm, values: fields_form.DataForm) -> Any:
    valid = form.validate()  # first: validating resets each input's messages
    parent_id = _parent_id(wf, form)
    data = _data(wf, form, values)
    if not valid or data is None or form.parent.errors:
        return _page(wf, form, values, 400)
    # A first status other than the initial one is given to the core, which then records
    # the creation as an import (CONTRACT §6); the initial one is left to the workflow.
    status = {"status": form.status.data} if form.status.data != wf.initial else {}
    try:
        entity = manager().create_entity(
            db.session, current_actor(), source="manual", type=wf.entity_type,
            name=form.name.data, parent_id=parent_id, data=data, **status)
    except InvalidInput as err:
        db.session.rollback()
        _attach(form, values, err)
        return _page(wf, form, values, 400)
    flash(f"Created {wf.label.lower()} “{entity.name}”.", "success")
    return redirect(url_for("entities.show", entity_id=entity.id))


def _data(wf: Workflow, form: NewEntityForm, values: fields_form.DataForm) -> dict[str, Any] | None:
    if not wf.fields:
        return form.json_data() if not form.data_json.errors else None
    clean = values.submit(field_values.names(), field_values.validator(wf, creating=True),
                          fields_form.defaults(wf.fields))
    return None if clean is None else {k: v for k, v in clean.items() if v is not None}


def _parent_id(wf: Workflow, form: NewEntityForm) -> int | None:
    text = (form.parent.data or "").strip()
    if not wf.parent_type or not text:
        return None
    try:
        return field_values.names().entity_id(wf.parent_type, text)
    except LookupError as err:
        form.parent.errors = [*form.parent.errors, str(err)]
        return None


def _parent_named(args: Any) -> str:
    """``?parent=12`` (the "Add" link of a parent's page) as the parent input shows it."""
    parent_id = args.get("parent", type=int)
    parent = db.session.get(Entity, parent_id) if parent_id and 0 < parent_id < 2**31 else None
    return labelled(parent.id, parent.name) if parent else ""


def _attach(form: NewEntityForm, values: fields_form.DataForm, err: InvalidInput) -> None:
    """The core's messages beside the inputs they are about."""
    inputs = {"name": form.name, "parent_id": form.parent, "status": form.status,
              "data": form.data_json if not values.specs else None}
    for key, message in (err.fields or {"": err.message}).items():
        target = inputs.get(key)
        if key.startswith("data.") and values.specs:
            values.attach({key: message})
        elif target is not None:
            target.errors = [*target.errors, message]
        else:
            values.general.append(message)


def _page(wf: Workflow, form: NewEntityForm, values: fields_form.DataForm, status: int = 200
          ) -> Any:
    own = [(f.id, e) for f in (form.name, form.parent, form.status, form.data_json)
           for e in f.errors]
    return render_template("entities/new.html", wf=wf, form=form, fields=values,
                           problems=own + values.messages()), status


@bp.get("/lookup")
@requires("view")
def lookup():
    """Entities of a type whose names match what was typed, as a datalist's options."""
    entity_type = request.args.get("type", "")
    text = request.args.get("q", "")[:QUERY_MAX]
    known = entity_type in workflows()
    options = field_values.names().suggestions(entity_type, text) if known else []
    return render_template("entities/_options.html", options=options)


@bp.get("/lookup/users")
@requires("operate")
def lookup_users():
    """Enabled users' names for a user field (only forms of roles that operate have one)."""
    options = field_values.usernames(request.args.get("q", "")[:QUERY_MAX])
    return render_template("entities/_options.html", options=options)

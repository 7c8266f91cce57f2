"""The rule and cascade editor (admins and config editors): HTMX forms that swap in place.

Every form carries the workflow version it was made from. "Check" shows the static problems
and, for a rule, how many current entities it would block; "Save" stores the change through
core.workflow_edit.save (refused with the problems listed, or as a conflict when stale).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from webapp import htmx
from webapp.blueprints.workflows import bp, forms, words
from webapp.blueprints.workflows.views import cascade_context, manager, page_context, workflow
from webapp.core.base.capabilities import roles_with
from webapp.core.base.errors import ConcurrencyConflict, NotFound
from webapp.core.workflows import editing as edit
from webapp.core.workflows.definition import Cascade, RuleSpec, Transition, Workflow, to_document
from webapp.core.workflows.rules import RULE_KINDS, field_problems
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import current_actor, now

#: Roles a transition may be narrowed to: only those who may change statuses at all.
OPERATOR_ROLES = sorted(roles_with("operate"))


@dataclass
class Check:
    """What "Check" found: the workflow's problems after the change, and the dry run."""

    problems: list[str]
    dry: edit.DryCheck | None = None
    change: str = ""


def _move(wf: Workflow, name: str) -> Transition:
    move = wf.by_name(name)
    if move is None:
        raise NotFound(f"{wf.label} has no transition {name!r}.")
    return move


# --------------------------------------------------------------------------- transition page

@bp.get("/<entity_type>/transitions/<name>")
@requires("edit_workflows")
def transition(entity_type: str, name: str):
    wf = workflow(entity_type)
    move, version = _move(wf, name), edit.definition_row(db.session, entity_type).version
    if request.args.get("add") in RULE_KINDS:
        kind = request.args["add"]
        return _editor(wf, name, opened=("add", kind),
                       form=forms.rule_form(kind, version=version, fields=wf.fields))
    index = request.args.get("edit", type=int)
    if index is not None and 0 <= index < len(move.rules):
        spec = move.rules[index]
        return _editor(wf, name, opened=("edit", index),
                       form=forms.rule_form(spec.kind, spec, version, fields=wf.fields))
    return _editor(wf, name)


def _editor(wf: Workflow, name: str, status: int = 200, opened: tuple[Any, ...] = (),
            form: Any = None, **extra: Any):
    """The transition editor: the whole page, or just its panel for an HTMX swap."""
    sm = manager()
    wf = workflow(wf.entity_type)  # the current one: a save may just have changed it
    move, row = _move(wf, name), edit.definition_row(db.session, wf.entity_type)
    settings = sm.settings.all(db.session)
    options = form if opened == ("options",) else forms.transition_form(OPERATOR_ROLES, move,
                                                                         row.version)
    ctx = {"wf": wf, "move": move, "row": row, "version": row.version, "opened": opened,
           "rule_form": form if opened and opened[0] in ("add", "edit") else None,
           "options_form": options, "kinds": RULE_KINDS, "words": words, "settings": settings,
           "rules": [(i, r, words.rule(r, settings)) for i, r in enumerate(move.rules)],
           "sources": edit.source_states(wf, move), "check": None, "notice": None,
           "problems": None, "conflict": None, "cap": edit.DRY_CHECK_CAP} | extra
    template = "workflows/_editor.html" if htmx.is_htmx() else "workflows/transition.html"
    return render_template(template, **ctx), status


@bp.post("/<entity_type>/transitions/<name>/options")
@requires("edit_workflows")
def transition_options(entity_type: str, name: str):
    wf = workflow(entity_type)
    form = forms.transition_form(OPERATOR_ROLES, formdata=request.form)
    if not form.validate():
        return _editor(wf, name, 422, ("options",), form)
    doc = edit.set_transition_options(to_document(wf), _move(wf, name).name, form.roles.data,
                                      form.comment_required.data)
    _set_approval(doc, _move(wf, name).name, form.approval_roles.data)
    who = ", ".join(form.roles.data) or "everyone who may operate"
    approval = (f"; needs approval by {', '.join(form.approval_roles.data)}"
                if form.approval_roles.data else "")
    return _save(wf, name, doc, form, ("options",),
                 f"Transition {name}: taken by {who}; comment "
                 f"{'required' if form.comment_required.data else 'optional'}{approval}.")


def _set_approval(doc: dict, transition: str, roles: list[str]) -> None:
    """The transition's ``approval`` block (CONTRACT §9): the roles that decide, or none."""
    t = next(t for t in doc["transitions"] if t["name"] == transition)
    t.pop("approval", None)
    if roles:
        t["approval"] = {"roles": list(roles)}


# ---------------------------------------------------------------------------------- rules

@bp.post("/<entity_type>/transitions/<name>/rules")
@requires("edit_workflows")
def add_rule(entity_type: str, name: str):
    wf = workflow(entity_type)
    _move(wf, name)
    form = forms.rule_form(request.form.get("kind"), formdata=request.form, fields=wf.fields)
    return _submit_rule(wf, name, form, ("add", form.kind_name))


@bp.post("/<entity_type>/transitions/<name>/rules/<int:index>")
@requires("edit_workflows")
def edit_rule(entity_type: str, name: str, index: int):
    wf = workflow(entity_type)
    move = _move(wf, name)
    if not 0 <= index < len(move.rules):
        raise NotFound(f"Transition {name!r} has no rule number {index + 1}; reload the page.")
    form = forms.rule_form(move.rules[index].kind, move.rules[index], formdata=request.form,
                           fields=wf.fields)
    return _submit_rule(wf, name, form, ("edit", index))


def _submit_rule(wf: Workflow, name: str, form: forms.RuleForm, opened: tuple[Any, ...]):
    spec = _valid_rule(wf, form)
    if spec is None:
        return _editor(wf, name, 422, opened, form)
    doc = to_document(wf)
    doc = (edit.add_rule(doc, name, spec) if opened[0] == "add"
           else edit.replace_rule(doc, name, opened[1], spec))
    said = words.rule(spec, manager().settings.all(db.session))
    if request.form.get("intent") == "check":
        return _editor(wf, name, 200, opened, form, check=_check(wf, name, doc, spec, said))
    verb = "added to" if opened[0] == "add" else "changed on"
    return _save(wf, name, doc, form, opened, f"Rule “{said}” {verb} {name}.")


def _valid_rule(wf: Workflow, form: forms.RuleForm) -> RuleSpec | None:
    """The form's rule when its fields, the kind's own checks and the type's declared fields
    accept it; otherwise the errors are on the form's fields."""
    if not form.validate():
        return None
    spec = forms.rule_spec(form)
    problems = (edit.rule_problems(spec, wf.entity_type, manager().workflows.all(db.session))
                or field_problems(spec, wf.fields))
    for param, message in problems.items():
        field = form.field_for(param)
        field.errors = [*field.errors, _sentence(message)]
    return None if problems else spec


def _sentence(complaint: str) -> str:
    """``has no state 'x'`` -> ``Has no state 'x'.``: the core's complaint as a form error."""
    return complaint[:1].upper() + complaint[1:] + "."


def _check(wf: Workflow, name: str, doc: dict[str, Any], spec: RuleSpec, said: str) -> Check:
    sm = manager()
    problems = edit.problems(doc, wf.entity_type, sm.workflows.all(db.session))
    # The StateManager's clock: the dry check predicts what the StateManager would decide.
    dry = edit.dry_check(db.session, wf, name, spec, sm.settings.all(db.session), sm.clock())
    return Check(problems, dry, said)


@bp.post("/<entity_type>/transitions/<name>/rules/<int:index>/delete")
@requires("edit_workflows")
def remove_rule(entity_type: str, name: str, index: int):
    wf = workflow(entity_type)
    form = forms.VersionedForm(formdata=request.form)
    if not form.validate():
        return _editor(wf, name, 422, problems=["The form lost its version; reload the page."])
    doc = edit.remove_rule(to_document(wf), name, index)
    said = words.rule(_move(wf, name).rules[index], manager().settings.all(db.session))
    return _save(wf, name, doc, form, (), f"Rule “{said}” removed from {name}.")


def _save(wf: Workflow, name: str, doc: dict[str, Any], form: forms.VersionedForm,
          opened: tuple[Any, ...], message: str):
    try:
        version = edit.save(db.session, manager().workflows, wf.entity_type, doc, current_actor(),
                            now(), form.version.data, message)
    except edit.WorkflowInvalid as err:
        return _editor(wf, name, 422, opened, form, problems=err.problems)
    except ConcurrencyConflict as err:
        _bump(form, err.current_version)
        return _editor(wf, name, 409, opened, form, conflict=_conflict_text(wf, form))
    notice = f"Saved (version {version}). {message}"
    if not htmx.is_htmx():
        flash(notice, "success")
        return redirect(url_for(".transition", entity_type=wf.entity_type, name=name))
    return _editor(wf, name, notice=notice)


def _bump(form: forms.VersionedForm, version: int) -> None:
    """Let the retried form save over the version the person has now seen."""
    form.version.data, form.version.raw_data = version, [str(version)]


def _conflict_text(wf: Workflow, form: forms.VersionedForm) -> str:
    row = edit.definition_row(db.session, wf.entity_type)
    return (f"Someone else ({row.updated_by or 'unknown'}) saved this workflow at "
            f"{row.updated_at:%Y-%m-%d %H:%M} UTC while you were editing, so your change was not "
            f"saved. The page now shows their version {row.version}; your change is still in the "
            "form — look it over and save again.")


# ------------------------------------------------------------------------------- cascades

@bp.post("/<entity_type>/cascades")
@requires("edit_workflows")
def add_cascade(entity_type: str):
    wf = workflow(entity_type)
    paths = edit.relative_paths(manager().workflows.all(db.session), entity_type)
    form = forms.cascade_form(wf, paths, formdata=request.form)
    cascade = _valid_cascade(wf, form)
    if cascade is None:
        return _cascades(wf, 422, form)
    doc = edit.add_cascade(to_document(wf), cascade)
    said = words.cascade(wf, cascade)
    if request.form.get("intent") == "check":
        problems = edit.problems(doc, entity_type, manager().workflows.all(db.session))
        return _cascades(wf, 200, form, cascade_check=Check(problems, None, said))
    return _save_cascades(wf, doc, form, f"Cascade added: {said}")


def _valid_cascade(wf: Workflow, form: forms.CascadeForm) -> Cascade | None:
    if not form.validate():
        return None
    cascade = Cascade(form.on_enter.data, tuple(form.path.data.split(",")),
                      tuple(form.from_states.data), form.to.data.strip())
    problems = edit.cascade_problems(cascade, wf, manager().workflows.all(db.session))
    for key, message in problems.items():
        field = getattr(form, key)
        field.errors = [*field.errors, _sentence(message)]
    return None if problems else cascade


@bp.post("/<entity_type>/cascades/<int:index>/delete")
@requires("edit_workflows")
def remove_cascade(entity_type: str, index: int):
    wf = workflow(entity_type)
    form = forms.VersionedForm(formdata=request.form)
    if not form.validate() or not 0 <= index < len(wf.cascades):
        stale = "That cascade is gone or the form is out of date; reload the page."
        return _cascades(wf, 422, cascade_problems=[stale])
    said = words.cascade(wf, wf.cascades[index])
    return _save_cascades(wf, edit.remove_cascade(to_document(wf), index), form,
                          f"Cascade removed: {said}")


def _save_cascades(wf: Workflow, doc: dict[str, Any], form: forms.VersionedForm, message: str):
    try:
        version = edit.save(db.session, manager().workflows, wf.entity_type, doc, current_actor(),
                            now(), form.version.data, message)
    except edit.WorkflowInvalid as err:
        return _cascades(wf, 422, form, cascade_problems=err.problems)
    except ConcurrencyConflict as err:
        _bump(form, err.current_version)
        keep = form if isinstance(form, forms.CascadeForm) else None
        return _cascades(wf, 409, keep, cascade_conflict=_conflict_text(wf, form))
    notice = f"Saved (version {version}). {message}"
    if not htmx.is_htmx():
        flash(notice, "success")
        return redirect(url_for(".show", entity_type=wf.entity_type) + "#cascades")
    return _cascades(workflow(wf.entity_type), 200, cascade_notice=notice)


def _cascades(wf: Workflow, status: int, form: forms.CascadeForm | None = None, **extra: Any):
    """The cascades card alone (HTMX) or the whole workflow page."""
    version = edit.definition_row(db.session, wf.entity_type).version
    if htmx.is_htmx():
        ctx = {"wf": wf, "words": words} | cascade_context(wf, version, form, **extra)
        return render_template("workflows/_cascades.html", **ctx), status
    return render_template("workflows/show.html", **page_context(
        wf.entity_type, **cascade_context(wf, version, form, **extra))), status

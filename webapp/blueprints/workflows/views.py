"""Workflow pages everyone may read: the list, one workflow with its diagram, export; and
import for config editors."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from webapp.blueprints.workflows import bp, forms, words
from webapp.blueprints.workflows.diagram import layout
from webapp.core.base.errors import InvalidInput, NotFound
from webapp.core.changes.manager import StateManager
from webapp.core.workflows import editing as edit
from webapp.core.workflows import registry, schema
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.models import WorkflowDefinition
from webapp.permissions import can, requires
from webapp.web_context import current_actor, now


def manager() -> StateManager:
    return StateManager.get_instance()


def workflow(entity_type: str) -> Workflow:
    """The workflow in force for a type; an unknown type is a 404 page."""
    try:
        return manager().workflow(db.session, entity_type)
    except InvalidInput as err:
        raise NotFound(f"There is no workflow for {entity_type!r}.") from err


@bp.get("/")
@requires("view")
def index():
    workflows = manager().workflows.all(db.session)
    rows = {r.entity_type: r for r in db.session.scalars(select(WorkflowDefinition))}
    packs: dict[str, list[tuple[Workflow, WorkflowDefinition]]] = {}
    for name in sorted(workflows, key=lambda n: _pack_rank(rows[n].pack)):
        packs.setdefault(rows[name].pack, []).append((workflows[name], rows[name]))
    return render_template("workflows/index.html", packs=packs)


def _pack_rank(pack: str) -> int:
    return registry.PACKS.index(pack) if pack in registry.PACKS else len(registry.PACKS)


@bp.get("/<entity_type>")
@requires("view")
def show(entity_type: str):
    return render_template("workflows/show.html", **page_context(entity_type))


def page_context(entity_type: str, **overrides: Any) -> dict[str, Any]:
    """What the workflow page shows; the cascade editor's state may be overridden."""
    sm, wf = manager(), workflow(entity_type)
    row, workflows = edit.definition_row(db.session, entity_type), sm.workflows.all(db.session)
    ctx = {"wf": wf, "row": row, "settings": sm.settings.all(db.session), "words": words,
           "diagram": layout(wf),
           "problems": edit.problems(row.definition, entity_type, workflows),
           "children": [(w.label, n) for n, w in sorted(workflows.items())
                        if w.parent_type == entity_type]}
    return ctx | cascade_context(wf, row.version) | overrides


def cascade_context(wf: Workflow, version: int, form: forms.CascadeForm | None = None,
                    **extra: Any) -> dict[str, Any]:
    workflows = manager().workflows.all(db.session)
    paths = edit.relative_paths(workflows, wf.entity_type)
    if form is None and can("edit_workflows") and paths:
        form = forms.cascade_form(wf, paths, version)
    states = {p: workflows[p[-1]].states for p in paths}
    return {"cascade_form": form, "paths": paths, "path_states": states, "version": version,
            "cascade_check": None, "cascade_notice": None, "cascade_problems": None,
            "cascade_conflict": None} | extra


@bp.get("/<entity_type>/export")
@requires("view")
def export(entity_type: str):
    workflow(entity_type)
    doc = registry.export_document(db.session, manager().workflows, entity_type)
    return Response(json.dumps(doc, indent=2) + "\n", mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{entity_type}.workflow.json"'})


@bp.route("/import", methods=["GET", "POST"])
@requires("edit_workflows")
def import_file():
    """Check the file, then import it. When its new fields would refuse values that stored
    entities hold, the page reports them first and imports only on "Import anyway" (nothing
    stored is rewritten: the old values stay readable, and flagged on each entity's page)."""
    form, problems, impacts = forms.ImportForm(), [], []
    if request.method == "POST" and form.validate():
        raw = form.text()
        try:
            # Checked every time, "Import anyway" too: it imports only the document whose
            # report the person saw, while the check still finds what it showed them.
            impacts = edit.import_impact(db.session, manager().workflows.all(db.session), raw)
            seal = impact_seal(raw, impacts)
            if impacts and form.confirmed.data != seal:
                form.document.data, form.confirmed.data = raw.decode("utf-8-sig"), seal
            else:
                types = edit.import_file(db.session, manager().workflows, raw, current_actor(),
                                         now())
                flash(f"Imported the workflow for {', '.join(types)}; the change is in the "
                      "audit log.", "success")
                one = url_for(".show", entity_type=types[0])
                return redirect(one if len(types) == 1 else url_for(".index"))
        except (edit.WorkflowInvalid, schema.DocumentInvalid) as err:
            problems = err.problems
    status = 422 if problems or form.errors else 200
    return render_template("workflows/import.html", form=form, problems=problems,
                           impacts=impacts), status


def impact_seal(raw: bytes, impacts: list[Any]) -> str:
    """A digest of a document and of what its check reported, for "Import anyway"."""
    said = [raw.decode("utf-8-sig"), *(s for report in impacts for s in report.sentences())]
    return hashlib.sha256(json.dumps(said).encode()).hexdigest()


bp.add_app_template_global(registry.pack_label, "pack_label")

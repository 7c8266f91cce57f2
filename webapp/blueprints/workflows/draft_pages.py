"""The draft editor (config editors and admins): one page per type where a draft of the whole
workflow is edited form by form, each edit answered (HTMX) with the panel redrawn: the
editor, the checks (static and against live data) and the diagram; then published with a
mapping for every stranded state."""
from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, request, url_for

from webapp import htmx
from webapp.blueprints.workflows import bp, draft_forms, words
from webapp.blueprints.workflows.diagram import layout
from webapp.blueprints.workflows.views import manager, workflow
from webapp.core.base.errors import ConcurrencyConflict, InvalidInput
from webapp.core.publishing import drafts, publish, versions
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows.editing import WorkflowInvalid
from webapp.core.workflows.rules import RULE_KINDS
from webapp.extensions import db
from webapp.models import WorkflowDraft
from webapp.permissions import requires
from webapp.web_context import current_actor, now
from webapp.workers import publish_runner

#: Publishing that moves more entities than this runs on a thread, with a progress bar.
BACKGROUND_ABOVE = 2000


@bp.get("/<entity_type>/draft")
@requires("edit_workflows")
def draft_page(entity_type: str):
    wf = workflow(entity_type)
    draft = drafts.find(db.session, entity_type)
    if draft is None:
        return render_template("workflows/draft_start.html", wf=wf,
                               row=versions.in_force(db.session, entity_type))
    return render_template("workflows/draft.html", **panel_context(draft))


@bp.post("/<entity_type>/draft")
@requires("edit_workflows")
def draft_start(entity_type: str):
    workflow(entity_type)
    drafts.start(db.session, entity_type, current_actor(), now())
    return redirect(url_for(".draft_page", entity_type=entity_type))


@bp.post("/<entity_type>/draft/edit")
@requires("edit_workflows")
def draft_edit(entity_type: str):
    workflow(entity_type)
    draft = drafts.start(db.session, entity_type, current_actor(), now())
    try:
        doc, renamed, said = draft_forms.apply(draft.definition, request.form)
        draft = drafts.put(db.session, entity_type, doc, current_actor(), now(), renamed=renamed)
    except InvalidInput as err:
        return _panel(drafts.get(db.session, entity_type), 422, error=err.message,
                      fields=err.fields, opened=request.form.get("opened", ""))
    return _panel(draft, 200, notice=f"Draft saved. {said}", opened=request.form.get("opened", ""))


@bp.post("/<entity_type>/draft/discard")
@requires("edit_workflows")
def draft_discard(entity_type: str):
    workflow(entity_type)
    drafts.discard(db.session, entity_type)
    flash("The draft was discarded; the workflow in force is unchanged.", "success")
    return _go(url_for(".show", entity_type=entity_type))


@bp.post("/<entity_type>/draft/publish")
@requires("edit_workflows")
def draft_publish(entity_type: str):
    """Checked here first (refusals come back in the panel at once); a large move then runs
    on a thread of its own with a progress bar, a small one right away."""
    workflow(entity_type)
    draft = drafts.get(db.session, entity_type)
    mapping, comment = draft_forms.mapping_from(request.form), request.form.get("comment")
    try:
        publish.comment_of(comment)
        definition, moving = publish.prepare(db.session, manager().workflows, entity_type,
                                             draft.definition, mapping)
        total = publish.to_move(db.session, entity_type, moving)
        if total > current_app.config.get("PUBLISH_IN_BACKGROUND_ABOVE", BACKGROUND_ABOVE):
            return _in_background(entity_type, definition, mapping, comment, total)
        done = publish.publish(db.session, manager(), current_actor(), entity_type,
                               definition, mapping, comment, discard_draft=True)
    except WorkflowInvalid as err:
        return _panel(draft, 422, error="Not published: the draft has problems.",
                      problems=err.problems, mapping=mapping)
    except publish.StrandedEntities as err:
        return _panel(draft, 422, error=err.message, problems=err.messages, mapping=mapping)
    except (InvalidInput, ConcurrencyConflict) as err:
        return _panel(draft, 422 if isinstance(err, InvalidInput) else 409, error=err.message,
                      fields=getattr(err, "fields", {}), mapping=mapping)
    return _published(entity_type, done.version, sum(done.moved.values()))


def _in_background(entity_type: str, definition: dict[str, Any], mapping: dict[str, str],
                   comment: Any, total: int):
    cid = str(uuid.uuid4())
    run = publish_runner.start(current_app._get_current_object(),  # type: ignore[attr-defined]
                               current_actor(), entity_type, definition, mapping, comment, cid,
                               total)
    return _progress(entity_type, cid, run, 202)


@bp.get("/<entity_type>/publishing/<cid>")
@requires("edit_workflows")
def publishing(entity_type: str, cid: str):
    """The progress of a publish running in the background; when done, on to its diff."""
    workflow(entity_type)
    run = publish_runner.status(cid)
    if run is not None and run.state == "done" and run.version:
        return _published(entity_type, run.version, run.total)
    return _progress(entity_type, cid, run, 200)


def _progress(entity_type: str, cid: str, run: publish_runner.Run | None, status: int):
    template = "workflows/_publish_progress.html" if htmx.is_htmx() else "workflows/publishing.html"
    return render_template(template, entity_type=entity_type, cid=cid, run=run,
                           label=workflow(entity_type).label), status


def _published(entity_type: str, version: int, moved: int):
    flash(f"Published version {version}."
          + (f" {moved:,} entities moved from removed states (history source migration; "
             f"undo it as one operation from Bulk operations)." if moved else ""), "success")
    return _go(url_for(".version_diff", entity_type=entity_type, to=version,
                       **{"from": version - 1}))


def _go(url: str):
    if htmx.is_htmx():
        return htmx.redirect(make_response("", 204), url)
    return redirect(url)


def _panel(draft: WorkflowDraft, status: int, **extra: Any):
    template = "workflows/_draft_panel.html" if htmx.is_htmx() else "workflows/draft.html"
    return render_template(template, **panel_context(draft, **extra)), status


def panel_context(draft: WorkflowDraft, **extra: Any) -> dict[str, Any]:
    """What the panel shows: the draft as forms, its checks and its diagram."""
    sm, entity_type = manager(), draft.entity_type
    doc = draft.definition
    found = drafts.check(db.session, sm.workflows, entity_type, doc,
                         sm.settings.all(db.session), sm.clock())
    wf = found.draft or wfmod.parse(entity_type, doc)
    row = versions.in_force(db.session, entity_type)
    mapping = {s: (extra.get("mapping") or {}).get(s) or (draft.renames or {}).get(s, "")
               for s in found.stranded}
    return {"wf": wf, "draft": draft, "doc": doc, "check": found, "row": row,
            "diagram": layout(wf), "marks": _marks(found), "words": words,
            "forms": draft_forms, "mapping": mapping, "notice": None, "error": None,
            "fields": {}, "problems": None, "opened": "", "label": wf.label,
            "rule_kinds": ", ".join(RULE_KINDS)} | extra


def _marks(found: drafts.Check) -> dict[str, dict[str, str]]:
    marks: dict[str, dict[str, str]] = {"states": {}, "transitions": {}}
    for kind, named in marks.items():
        for change in ("added", "changed"):
            named.update((n, change) for n in found.diff.names(kind, change))
    return marks

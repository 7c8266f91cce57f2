"""A workflow's versions (CONTRACT §10): the list, one version with its diagram, the diff of
two versions in words and in the diagram, and restoring a version as the draft (rollback)."""
from __future__ import annotations

import dataclasses
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from webapp.blueprints.workflows import bp, words
from webapp.blueprints.workflows.diagram import layout
from webapp.blueprints.workflows.views import workflow
from webapp.core.base.errors import InvalidInput
from webapp.core.publishing import diffing, drafts, versions
from webapp.core.workflows import definition as wfmod
from webapp.core.workflows.definition import Workflow
from webapp.extensions import db
from webapp.permissions import requires
from webapp.web_context import current_actor, now


@bp.get("/<entity_type>/versions")
@requires("view")
def versions_list(entity_type: str):
    wf = workflow(entity_type)
    listed = versions.listing(db.session, entity_type)
    return render_template("workflows/versions.html", wf=wf, versions=listed,
                           row=versions.in_force(db.session, entity_type),
                           draft=drafts.find(db.session, entity_type))


@bp.get("/<entity_type>/versions/<int:number>")
@requires("view")
def version_show(entity_type: str, number: int):
    wf_now = workflow(entity_type)
    v = versions.get(db.session, entity_type, number)
    wf = wfmod.parse(entity_type, v.definition)
    return render_template("workflows/version.html", wf=wf, v=v, label=wf_now.label,
                           diagram=layout(wf), marks={}, words=words,
                           row=versions.in_force(db.session, entity_type))


@bp.get("/<entity_type>/diff")
@requires("view")
def version_diff(entity_type: str):
    wf_now = workflow(entity_type)
    latest = versions.in_force(db.session, entity_type).version
    try:
        second = versions.version_number(request.args.get("to", latest), "to")
        first = versions.version_number(request.args.get("from", max(1, second - 1)), "from")
    except InvalidInput:
        flash("Pick two version numbers to compare.", "error")
        return redirect(url_for(".versions_list", entity_type=entity_type))
    a = versions.get(db.session, entity_type, first)
    b = versions.get(db.session, entity_type, second)
    diff = diffing.diff(a.definition, b.definition)
    merged, marks = union(entity_type, a.definition, b.definition, diff)
    return render_template("workflows/diff.html", wf=merged, label=wf_now.label, a=a, b=b,
                           diff=diff, diagram=layout(merged), marks=marks,
                           numbers=[v.version for v in versions.listing(db.session,
                                                                         entity_type)])


def union(entity_type: str, old: dict[str, Any], new: dict[str, Any],
          diff: diffing.Diff) -> tuple[Workflow, dict[str, dict[str, str]]]:
    """One workflow holding both sides (the new one plus what it removed) and how to mark
    each state and transition in its diagram: added, removed or changed."""
    before, after = wfmod.parse(entity_type, old), wfmod.parse(entity_type, new)
    gone_states = {n: s for n, s in before.states.items() if n not in after.states}
    gone_moves = tuple(t for t in before.transitions if after.by_name(t.name) is None)
    merged = dataclasses.replace(after, states={**after.states, **gone_states},
                                 transitions=after.transitions + gone_moves)
    marks: dict[str, dict[str, str]] = {"states": {}, "transitions": {}}
    for kind in ("states", "transitions"):
        for change in ("added", "removed", "changed"):
            marks[kind].update((n, change) for n in diff.names(kind, change))
    for name in diff.names("rules", "added") | diff.names("rules", "removed"):
        marks["transitions"].setdefault(name, "changed")
    return merged, marks


@bp.post("/<entity_type>/versions/<int:number>/restore")
@requires("edit_workflows")
def version_restore(entity_type: str, number: int):
    """Rollback starts here: the version's definition becomes the draft, to be checked and
    published like any other."""
    workflow(entity_type)
    v = versions.get(db.session, entity_type, number)
    drafts.put(db.session, entity_type, v.definition, current_actor(), now(),
               base_version=versions.in_force(db.session, entity_type).version)
    flash(f"Version {number} is now the draft: look over the checks, map any stranded states "
          "and publish it to roll back.", "success")
    return redirect(url_for(".draft_page", entity_type=entity_type))

"""The header's search box (CONTRACT §11): results across every type as one types, and the same
results as a page for a browser without script (or Enter with nothing chosen)."""
from __future__ import annotations

from flask import render_template, request

from webapp.blueprints.entities import bp
from webapp.blueprints.entities.common import manager, workflows
from webapp.blueprints.entities.lists import entity_address
from webapp.core.base.errors import InvalidInput
from webapp.core.lists import finding
from webapp.extensions import db
from webapp.htmx import is_htmx
from webapp.permissions import requires

SHOWN = 8


@bp.get("/search")
@requires("view")
def search():
    q = (request.args.get("q") or "")[:finding.QUERY_MAX]
    error = None
    hits: list[finding.Hit] = []
    try:
        hits = finding.find(db.session, manager().vocabulary, q, SHOWN if is_htmx() else 50)
    except InvalidInput as err:
        error = err.message
    known = workflows()
    address = entity_address()
    shown = [(h, known[h.type].label if h.type in known else h.type,
              _state_label(known, h), address(h.id)) for h in hits]
    template = "entities/_search_results.html" if is_htmx() else "entities/search.html"
    return render_template(template, q=q, hits=shown, error=error)


def _state_label(known, hit: finding.Hit) -> str:
    wf = known.get(hit.type)
    state = wf.states.get(hit.status) if wf else None
    return state.label if state else hit.status

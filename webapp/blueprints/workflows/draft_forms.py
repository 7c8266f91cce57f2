"""The draft editor's forms read into edits of the draft (core/publishing/draft_edits.py).

Each form posts an ``op`` and its fields; ``apply`` returns the edited document, the state it
renamed (if any) and a sentence saying what changed, or raises InvalidInput naming the field.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.datastructures import MultiDict

from webapp.core.base.capabilities import roles_with
from webapp.core.base.errors import InvalidInput
from webapp.core.publishing import draft_edits as edits
from webapp.models import ROLES

Document = dict[str, Any]
Outcome = tuple[Document, tuple[str, str] | None, str]
#: Roles a transition may be narrowed to, and the roles that may decide an approval.
OPERATOR_ROLES = sorted(roles_with("operate"))
APPROVER_ROLES = list(ROLES)
JSON_PARTS = ("slas", "cascades", "fields")


def apply(doc: Document, form: MultiDict) -> Outcome:
    op = form.get("op", "")
    handler = OPS.get(op)
    if handler is None:
        raise InvalidInput("Unknown edit; reload the page.", {"op": "Unknown edit."})
    return handler(doc, form)


def _add_state(doc: Document, f: MultiDict) -> Outcome:
    new = edits.add_state(doc, f.get("name"), f.get("label", ""), f.get("category", "active"),
                          f.get("terminal") == "on")
    return new, None, f"State {f.get('name', '').strip()} added."


def _set_state(doc: Document, f: MultiDict) -> Outcome:
    state = f.get("state", "")
    new = edits.set_state(doc, state, f.get("label", ""), f.get("category", "active"),
                          f.get("terminal") == "on", _timeout(f))
    if f.get("initial") == "on":
        new = edits.set_initial(new, state)
    return new, None, f"State {state} changed."


def _timeout(f: MultiDict) -> dict[str, Any] | None:
    action = (f.get("timeout_action") or "").strip()
    if not action:
        return None
    hours, at_field = (f.get("timeout_hours") or "").strip(), (f.get("timeout_field") or "").strip()
    if bool(hours) == bool(at_field):
        raise InvalidInput("A timeout fires after some hours or at a date field: give one.",
                           {"timeout_hours": "Give hours, or a date field, not both."})
    if at_field:
        return {"action": action, "at_field": at_field}
    try:
        value = float(hours)
    except ValueError:
        value = -1
    if not 0 < value <= 100_000:
        raise InvalidInput("Hours must be a number above 0.", {"timeout_hours": "E.g. 48."})
    return {"action": action, "after_hours": int(value) if value.is_integer() else value}


def _rename_state(doc: Document, f: MultiDict) -> Outcome:
    old, new_name = f.get("state", ""), (f.get("new_name") or "").strip()
    return (edits.rename_state(doc, old, new_name), (old, new_name),
            f"State {old} renamed to {new_name}.")


def _remove_state(doc: Document, f: MultiDict) -> Outcome:
    state = f.get("state", "")
    return edits.remove_state(doc, state), None, f"State {state} removed."


def _set_transition(doc: Document, f: MultiDict) -> Outcome:
    old = f.get("transition") or None
    new = edits.set_transition(
        doc, old, f.get("name"), f.getlist("from"), f.get("to", ""),
        _picked(f.getlist("roles"), OPERATOR_ROLES, "roles"), f.get("comment_required") == "on",
        _picked(f.getlist("approval_roles"), APPROVER_ROLES, "approval_roles"))
    name = f.get("name", "").strip()
    return new, None, (f"Transition {name} added." if old is None else
                       f"Transition {old} changed." if old == name else
                       f"Transition {old} renamed to {name}.")


def _picked(values: list[str], allowed: list[str], field: str) -> list[str]:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise InvalidInput("Unknown role.", {field: f"Pick from {', '.join(allowed)}."})
    return values


def _remove_transition(doc: Document, f: MultiDict) -> Outcome:
    name = f.get("transition", "")
    return edits.remove_transition(doc, name), None, f"Transition {name} removed."


def _set_part(doc: Document, f: MultiDict) -> Outcome:
    part = f.get("part", "")
    text = (f.get("value") or "").strip()
    try:
        value = json.loads(text) if text else None
    except json.JSONDecodeError as err:
        raise InvalidInput(f"That is not valid JSON: {err.msg} at line {err.lineno}, column "
                           f"{err.colno}.", {"value": "Fix the JSON."}) from None
    said = part.replace("rules:", "rules of ").replace("slas", "SLAs")
    return edits.set_part(doc, part, value), None, f"{said.capitalize()} changed."


OPS: dict[str, Callable[[Document, MultiDict], Outcome]] = {
    "add_state": _add_state, "set_state": _set_state, "rename_state": _rename_state,
    "remove_state": _remove_state, "set_transition": _set_transition,
    "remove_transition": _remove_transition, "set_part": _set_part,
}


def as_json(value: Any) -> str:
    """A part of the document as the text the editor shows."""
    return json.dumps(value, indent=2) if value not in (None, [], {}) else ""


def mapping_from(form: MultiDict) -> dict[str, str]:
    """``map-<state>`` selects: {removed state: new state}; blanks left out."""
    return {k[4:]: v for k, v in form.items() if k.startswith("map-") and v}

"""Reading the bulk pages' parameters: which entities (the selection) and what to do to them.

A selection is either ids (``ids=1,2,3`` or ``ids`` repeated, as the entity list's checkboxes
send them) or a list filter with ``all_matching=1``. It travels from page to page as hidden
fields, so the preview and the run act on the same selection.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from webapp.core.base import bounds
from webapp.core.base.errors import InvalidInput, storable_id
from webapp.core.base.words import label, plural
from webapp.core.bulk import operations as bulk
from webapp.core.bulk import plans as bulk_plans
from webapp.core.bulk.operations import BulkRequest
from webapp.core.changes.manager import StateManager
from webapp.core.lists import listing, search

ACTIONS = {"transition": "Change the status", "assign": "Assign to someone",
           "update": "Update data fields"}


@dataclass
class Selection:
    """Ids named one by one, or every entity matching a filter."""

    ids: tuple[int, ...] = ()
    filter_params: dict[str, str] = field(default_factory=dict)

    @property
    def all_matching(self) -> bool:
        return not self.ids

    def hidden(self) -> list[tuple[str, str]]:
        """(name, value) pairs that carry this selection to the next page."""
        if self.ids:
            return [("ids", ",".join(map(str, self.ids)))]
        return [("all_matching", "1"), *self.filter_params.items()]

    def resolve(self, session: Session, vocabulary: search.Vocabulary, now: Any) -> tuple[int, ...]:
        if self.ids:
            return self.ids
        wf = StateManager.get_instance().workflows.all(session).get(
            self.filter_params.get("type", ""))
        filters = listing.filters_from_params(self.filter_params, now,
                                              wf.fields if wf else None, wf.label if wf else "")
        return tuple(bulk_plans.matching_ids(session, vocabulary, filters))

    def describe(self) -> str:
        if self.ids:
            return plural(len(self.ids), "selected entity")
        shown = ", ".join(f"{label(k)} {v}" for k, v in self.filter_params.items())
        return f"every entity matching {shown or 'no filter'}"


def parse_selection(args: MultiDict[str, str]) -> Selection:
    """The selection in the query or form; InvalidInput when there is none or it is malformed."""
    raw = [part.strip() for value in args.getlist("ids") for part in value.split(",") if part.strip()]
    if raw:
        if not all(part.isascii() and part.isdigit() for part in raw):  # not "²"
            raise InvalidInput("The selection has ids that are not numbers.",
                               {"ids": "Select entities from the list."})
        ids = list(dict.fromkeys(int(part) for part in raw))  # a double click selects twice
        return Selection(bulk.check_ids(ids, limit=bulk_plans.SELECTION_MAX))
    if args.get("all_matching") == "1":
        # The list's filters, its declared-field ones (data.price__gte) included: dropping
        # one would select more entities than the list showed.
        params = {k: args.get(k, "").strip() for k in args
                  if (k == "type" or listing.is_filter_param(k)) and args.get(k, "").strip()}
        if args.get("inactive_days") and "quiet_days" not in params:
            params["quiet_days"] = args["inactive_days"].strip()
        return Selection(filter_params=params)
    raise InvalidInput("Nothing is selected.",
                       {"ids": "Select entities in the entity list, or choose all matching a filter."})


def parse_action(form: MultiDict[str, str], ids: tuple[int, ...], large: bool) -> BulkRequest:
    """The action chosen on the form, as a request for the core (checked there too)."""
    action = form.get("action", "")
    if action not in ACTIONS:
        raise InvalidInput("Choose what to do.", {"action": f"One of: {', '.join(ACTIONS)}."})
    comment = (form.get("comment") or "").strip()[:2000] or None
    fields: dict[str, Any] = {"target_state": form.get("target_state") or None,
                              "assignee": form.get("assignee")}
    if action == "update":
        fields["update_data"] = bulk.check_update_data(_json(form.get("update_data", "")))
    since = form.get("since", "")
    return bulk.check_request(BulkRequest(
        action, ids, comment=comment, rollback_on_error=form.get("rollback_on_error") == "1"
        and not large, since_change_id=_change_id(since),
        **{k: v for k, v in fields.items() if k in _FIELDS[action]}))


_FIELDS = {"transition": ("target_state",), "assign": ("assignee",), "update": ("update_data",)}


def _change_id(text: str) -> int | None:
    """The preview's watermark, a change id; anything else (a hand-edited form) is none."""
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    return number if storable_id(number) else None


def _json(text: str) -> Any:
    try:
        return bounds.loads(text, where="update_data")  # InvalidInput past the bounds
    except ValueError as err:
        raise InvalidInput("The data is not valid JSON.",
                           {"update_data": f"Not JSON: {err}. Example: {{\"priority\": \"HIGH\"}}"}) from err

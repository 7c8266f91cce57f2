"""Edits of a draft's document for the browser editor: add, rename and remove states and
transitions, and set their details. Pure functions: each returns a new document and raises
InvalidInput (naming the form field) when the edit cannot be made; whether the result is a
sound workflow is for ``drafts.check`` to say (a draft may be unfinished).

Renaming a state renames every reference to it in the document; for the entities in it the
rename is a removal plus an addition (they need a mapping when published, pre-filled with the
new name from ``renames``).
"""
from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from webapp.core.base import words
from webapp.core.base.errors import InvalidInput
from webapp.core.workflows.definition import CATEGORIES, WILDCARD

Document = dict[str, Any]
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")


def checked_name(value: Any, field: str) -> str:
    name = str(value or "").strip()
    if not NAME.match(name):
        raise InvalidInput("A name is a letter, then letters, digits or _ (at most 50).",
                           {field: "Use letters, digits and _, starting with a letter."})
    return name


def add_state(doc: Document, name: Any, label: str = "", category: str = "active",
              terminal: bool = False) -> Document:
    name = checked_name(name, "name")
    if name in doc["states"]:
        raise InvalidInput(f"There is a state {name!r} already.", {"name": "Pick a new name."})
    new = copy.deepcopy(doc)
    new["states"][name] = _state(name, label, category, terminal)
    return new


def set_state(doc: Document, name: str, label: str, category: str, terminal: bool,
              timeout: dict[str, Any] | None) -> Document:
    new = copy.deepcopy(doc)
    _state_of(new, name)
    spec = _state(name, label, category, terminal)
    if timeout:
        spec["timeout"] = timeout
    new["states"][name] = spec
    return new


def _state(name: str, label: str, category: str, terminal: bool) -> dict[str, Any]:
    if category not in CATEGORIES:
        raise InvalidInput("Unknown category.", {"category": f"One of {', '.join(CATEGORIES)}."})
    return {"label": (label or "").strip()[:100] or words.label(name).capitalize(),
            "category": category, "terminal": bool(terminal)}


def rename_state(doc: Document, old: str, new_name: Any) -> Document:
    """``old`` becomes ``new_name`` everywhere the document names it."""
    new_name = checked_name(new_name, "new_name")
    _state_of(doc, old)
    if new_name in doc["states"]:
        raise InvalidInput(f"There is a state {new_name!r} already.",
                           {"new_name": "Pick a name no state has."})
    new = copy.deepcopy(doc)
    new["states"] = {(new_name if k == old else k): v for k, v in new["states"].items()}
    swap = lambda s: new_name if s == old else s
    new["initial"] = swap(new["initial"])
    for t in new.get("transitions", []):
        t["from"], t["to"] = [swap(s) for s in _sources(t)], swap(t["to"])
    for c in new.get("cascades", []):
        c["on_enter"] = swap(c["on_enter"])
    for sla in new.get("slas", []):
        for key in ("start", "pause", "stop"):
            sla[key] = [swap(s) for s in sla.get(key, [])]
    if new.get("sweep"):
        sweep = new["sweep"]
        sweep["from"] = [swap(s) for s in sweep["from"]]
        sweep["inactive"] = swap(sweep["inactive"])
        if sweep.get("reactivate_to"):
            sweep["reactivate_to"] = swap(sweep["reactivate_to"])
    for d in new.get("derived", []):
        d["applies_in"] = [swap(s) for s in d["applies_in"]]
        for th in d["thresholds"]:
            th["to"] = swap(th["to"])
    return new


def remove_state(doc: Document, name: str) -> Document:
    """The state and the transitions into it go; other transitions stop leaving from it; the
    cascades on entering it and its SLA mentions go with it."""
    _state_of(doc, name)
    if doc["initial"] == name:
        raise InvalidInput("New entities start in this state; make another state the first "
                           "one before removing it.", {"state": "It is the initial state."})
    new = copy.deepcopy(doc)
    del new["states"][name]
    kept = []
    for t in new.get("transitions", []):
        t["from"] = [s for s in _sources(t) if s != name]
        if t["to"] != name and t["from"]:
            kept.append(t)
    new["transitions"] = kept
    new["cascades"] = [c for c in new.get("cascades", []) if c["on_enter"] != name]
    for sla in new.get("slas", []):
        for key in ("start", "pause", "stop"):
            sla[key] = [s for s in sla.get(key, []) if s != name]
    return new


def set_initial(doc: Document, name: str) -> Document:
    _state_of(doc, name)
    new = copy.deepcopy(doc)
    new["initial"] = name
    return new


def set_transition(doc: Document, old_name: str | None, name: Any, sources: Sequence[str],
                   target: str, roles: Sequence[str] = (), comment_required: bool = False,
                   approval_roles: Sequence[str] = ()) -> Document:
    """Add a transition (``old_name`` None) or change one, its rules kept."""
    name = checked_name(name, "name")
    names = [t["name"] for t in doc.get("transitions", [])]
    if name != old_name and name in names:
        raise InvalidInput(f"There is a transition {name!r} already.", {"name": "Pick a new name."})
    if old_name is not None and old_name not in names:
        raise InvalidInput(f"There is no transition {old_name!r}; reload the page.",
                           {"name": "It is gone."})
    states = doc["states"]
    unknown = [s for s in (*sources, target) if s != WILDCARD and s not in states]
    if unknown or not sources or target not in states:
        raise InvalidInput("Choose the states it leaves from and the state it goes to.",
                           {"from" if not sources or set(unknown) - {target} else "to":
                            f"Pick states of this workflow{': not ' + ', '.join(unknown) if unknown else ''}."})
    new = copy.deepcopy(doc)
    spec: dict[str, Any] = {"name": name, "from": list(dict.fromkeys(sources)), "to": target}
    if roles:
        spec["roles"] = list(roles)
    if comment_required:
        spec["comment_required"] = True
    old = next((t for t in new.get("transitions", []) if t["name"] == old_name), None)
    if old and old.get("rules"):
        spec["rules"] = old["rules"]
    if approval_roles:
        spec["approval"] = {"roles": list(approval_roles)}
    if old is None:
        new.setdefault("transitions", []).append(spec)
    else:
        new["transitions"] = [spec if t is old else t for t in new["transitions"]]
        _rename_action(new, old_name, name)
    return new


def remove_transition(doc: Document, name: str) -> Document:
    if name not in [t["name"] for t in doc.get("transitions", [])]:
        raise InvalidInput(f"There is no transition {name!r}; reload the page.",
                           {"name": "It is gone."})
    new = copy.deepcopy(doc)
    new["transitions"] = [t for t in new["transitions"] if t["name"] != name]
    return new


def set_part(doc: Document, part: str, value: Any) -> Document:
    """Replace a JSON part edited as text: ``slas``, ``cascades``, ``fields`` or
    ``rules:<transition>`` (the schema check of the draft then names any bad key)."""
    new = copy.deepcopy(doc)
    if part.startswith("rules:"):
        t = next((t for t in new.get("transitions", []) if t["name"] == part[6:]), None)
        if t is None:
            raise InvalidInput("That transition is gone; reload the page.", {"part": part})
        if value:
            t["rules"] = value
        else:
            t.pop("rules", None)
        return new
    if part not in ("slas", "cascades", "fields"):
        raise InvalidInput("Unknown part.", {"part": "One of slas, cascades, fields, rules:NAME."})
    if value in (None, [], {}) and part == "slas":
        new.pop("slas", None)
    else:
        new[part] = value
    return new


def _rename_action(doc: Document, old: str | None, new_name: str) -> None:
    """Timeouts take transitions by name: a renamed one keeps its timeouts."""
    if old is None or old == new_name:
        return
    for spec in doc["states"].values():
        if (spec.get("timeout") or {}).get("action") == old:
            spec["timeout"]["action"] = new_name


def _sources(t: dict[str, Any]) -> list[str]:
    return [t["from"]] if isinstance(t["from"], str) else list(t["from"])


def _state_of(doc: Document, name: str) -> dict[str, Any]:
    if name not in doc["states"]:
        raise InvalidInput(f"There is no state {name!r}; reload the page.", {"state": "It is gone."})
    return doc["states"][name]

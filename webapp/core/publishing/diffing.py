"""What changed between two definitions of one workflow, item by item and in sentences.

Both sides are workflow documents (``definition.to_document``); states, transitions, SLAs and
fields are matched by name, rules by their transition and their content, cascades by content.
Renaming a state or transition reads as one removed and one added (entities in a removed
state need a mapping when it is published).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from webapp.core.base.words import label

Document = dict[str, Any]
#: The parts of a definition compared item by item, in the order a diff lists them.
KINDS = ("states", "transitions", "rules", "slas", "fields", "cascades", "workflow")
_WORKFLOW_KEYS = ("label", "initial", "parent_type", "sweep", "derived", "settings", "bulk_limit")


@dataclass
class Item:
    """One added, removed or changed thing; ``name`` is what the diagram marks."""

    kind: str
    name: str
    change: str  # added | removed | changed
    sentence: str
    before: Any = None
    after: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sentence": self.sentence,
                **({"before": self.before} if self.change != "added" else {}),
                **({"after": self.after} if self.change != "removed" else {})}


@dataclass
class Diff:
    items: list[Item] = field(default_factory=list)

    def of(self, kind: str, change: str | None = None) -> list[Item]:
        return [i for i in self.items if i.kind == kind and change in (None, i.change)]

    def names(self, kind: str, change: str) -> set[str]:
        return {i.name for i in self.of(kind, change)}

    @property
    def sentences(self) -> list[str]:
        return [i.sentence for i in self.items]

    def to_dict(self) -> dict[str, Any]:
        """``{"states": {"added": [...], "removed": [...], "changed": [...]}, …, "sentences"}``."""
        out: dict[str, Any] = {kind: {change: [i.to_dict() for i in self.of(kind, change)]
                                      for change in ("added", "removed", "changed")}
                               for kind in KINDS}
        return out | {"sentences": self.sentences, "unchanged": not self.items}


def diff(old: Document, new: Document) -> Diff:
    """Everything ``new`` adds, removes or changes against ``old``."""
    d = Diff()
    d.items += _named("states", "State", old.get("states", {}), new.get("states", {}))
    d.items += _named("transitions", "Transition", _by_name(old.get("transitions")),
                      _by_name(new.get("transitions")), ignore=("rules",))
    d.items += _rules(_by_name(old.get("transitions")), _by_name(new.get("transitions")))
    d.items += _named("slas", "SLA", _by_name(old.get("slas")), _by_name(new.get("slas")))
    d.items += _named("fields", "Field", old.get("fields") or {}, new.get("fields") or {})
    d.items += _listed("cascades", "Cascade", old.get("cascades"), new.get("cascades"), _cascade)
    for key in _WORKFLOW_KEYS:
        before, after = old.get(key), new.get(key)
        if _norm(before) != _norm(after):
            what = label(key)
            d.items.append(Item("workflow", key, "changed",
                                f"The {what} changed: {_brief(before)} → {_brief(after)}.",
                                before, after))
    return d


def _by_name(items: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(i.get("name")): i for i in items or ()}


def _named(kind: str, noun: str, old: dict[str, Any], new: dict[str, Any],
           ignore: tuple[str, ...] = ()) -> list[Item]:
    out = [Item(kind, n, "removed", f"{noun} {n!r} removed.", before=old[n])
           for n in old if n not in new]
    out += [Item(kind, n, "added", f"{noun} {n!r} added{_said(kind, new[n])}.", after=new[n])
            for n in new if n not in old]
    for n in (n for n in new if n in old):
        a = {k: v for k, v in (old[n] or {}).items() if k not in ignore}
        b = {k: v for k, v in (new[n] or {}).items() if k not in ignore}
        if _norm(a) != _norm(b):
            keys = sorted(k for k in {*a, *b} if _norm(a.get(k)) != _norm(b.get(k)))
            parts = "; ".join(f"{label(k)} {_brief(a.get(k))} → {_brief(b.get(k))}"
                              for k in keys)
            out.append(Item(kind, n, "changed", f"{noun} {n!r} changed: {parts}.", old[n], new[n]))
    return out


def _said(kind: str, spec: dict[str, Any]) -> str:
    if kind == "transitions":
        sources = spec.get("from")
        sources = [sources] if isinstance(sources, str) else sources or []
        return f" ({' | '.join(sources)} → {spec.get('to')})"
    return ""


def _rules(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Item]:
    """Rules of transitions on both sides (a transition added or removed takes its rules)."""
    out = []
    for name in (n for n in new if n in old):
        before = [_norm(r) for r in old[name].get("rules") or ()]
        after = [_norm(r) for r in new[name].get("rules") or ()]
        for r in (json.loads(x) for x in before if x not in after):
            out.append(Item("rules", name, "removed",
                            f"Rule {_rule(r)} removed from {name!r}.", before=r))
        for r in (json.loads(x) for x in after if x not in before):
            out.append(Item("rules", name, "added", f"Rule {_rule(r)} added to {name!r}.",
                            after=r))
    return out


def _listed(kind: str, noun: str, old: list[Any] | None, new: list[Any] | None,
            said: Any) -> list[Item]:
    before, after = [_norm(x) for x in old or ()], [_norm(x) for x in new or ()]
    out = [Item(kind, said(json.loads(x)), "removed", f"{noun} removed: {said(json.loads(x))}.",
                before=json.loads(x)) for x in before if x not in after]
    out += [Item(kind, said(json.loads(x)), "added", f"{noun} added: {said(json.loads(x))}.",
                 after=json.loads(x)) for x in after if x not in before]
    return out


def _cascade(c: dict[str, Any]) -> str:
    return (f"on entering {c.get('on_enter')}, {'/'.join(c.get('path', []))} in "
            f"{' | '.join(c.get('from', []))} go {c.get('to')}")


def _rule(r: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={json.dumps(v)}" for k, v in (r.get("params") or {}).items())
    return f"{r.get('kind')}({params})"


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _brief(value: Any, limit: int = 80) -> str:
    text = "none" if value in (None, [], {}, False) else (
        "yes" if value is True else value if isinstance(value, str)
        else json.dumps(value, sort_keys=True, default=str))
    return text if len(text) <= limit else text[:limit - 1] + "…"

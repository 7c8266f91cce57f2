"""Workflows as data: states, named transitions, rules, cascades and derived statuses.

A workflow document (JSON, see ``webapp/packs/``) is parsed into frozen dataclasses here;
``check`` reports the static problems an editor must see before saving.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.core.base.errors import InvalidInput
from webapp.core.base.words import label
from webapp.core.fields.spec import FieldSpec, export_fields, parse_fields
from webapp.core.settings.store import GENERIC, Setting
from webapp.core.workflows import timing
from webapp.core.workflows.timing import Sla, Timeout

CATEGORIES = ("active", "inactive", "closed")
WILDCARD = "*"


@dataclass(frozen=True)
class State:
    name: str
    label: str
    category: str = "active"
    terminal: bool = False
    #: Take a transition after some time in the state, or at a date field (CONTRACT §8).
    timeout: Timeout | None = None


@dataclass(frozen=True)
class RuleSpec:
    """A business rule (guard) of a registered kind with typed parameters."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    message: str | None = None


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...] = ()
    comment_required: bool = False
    rules: tuple[RuleSpec, ...] = ()
    #: The roles that decide a request to take it (CONTRACT §9); empty: no approval needed.
    approval_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cascade:
    """When an entity enters ``on_enter``, its relatives along ``path`` in ``from_states``
    move to ``to`` (source ``cascade``)."""

    on_enter: str
    path: tuple[str, ...]
    from_states: tuple[str, ...]
    to: str


@dataclass(frozen=True)
class Derivation:
    """A status derived from children: counted children in ``count_states`` decide the status.

    ``thresholds`` are checked in order: (at most N, or at most setting S) -> status.
    """

    child_type: str
    count_states: tuple[str, ...]
    trigger_states: tuple[str, ...]
    applies_in: tuple[str, ...]
    thresholds: tuple[tuple[int | str, str], ...]


@dataclass(frozen=True)
class SweepSpec:
    """What the grace-period sweep does to this type, and the settings it reads: named in the
    file or implied (``<type>_grace_period``, ``<type>_warning_period``,
    ``<type>_auto_inactivate``); the first two must be declared, the switch may be left out
    (then the sweep always inactivates)."""

    from_states: tuple[str, ...]
    inactive_state: str
    reactivate_to: str | None
    grace_setting: str
    warning_setting: str
    auto_setting: str


@dataclass(frozen=True)
class Workflow:
    entity_type: str
    label: str
    initial: str
    states: dict[str, State]
    transitions: tuple[Transition, ...]
    parent_type: str | None = None
    cascades: tuple[Cascade, ...] = ()
    derived: tuple[Derivation, ...] = ()
    sweep: SweepSpec | None = None
    #: The type's declared data fields, in order (CONTRACT §7); empty: free-form data.
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    #: The settings this type needs (its sweep's, its thresholds, its limits), declared in
    #: its file and in force while the workflow is.
    settings: tuple[Setting, ...] = ()
    #: The setting capping how many entities of this type one bulk request may change.
    bulk_limit: str | None = None
    #: The type's SLA clocks (CONTRACT §8).
    slas: tuple[Sla, ...] = ()

    def state(self, name: str) -> State | None:
        """Look a state up by name, case-insensitively (``SOLD`` and ``sold`` are one)."""
        if name in self.states:
            return self.states[name]
        lowered = {k.lower(): v for k, v in self.states.items()}
        return lowered.get(str(name).lower())

    def transitions_from(self, state: str) -> list[Transition]:
        """Moves out of ``state``; a wildcard never leaves a terminal state."""
        st = self.states.get(state)
        terminal = bool(st and st.terminal)
        return [t for t in self.transitions if t.target != state
                and (state in t.sources or (WILDCARD in t.sources and not terminal))]

    def find(self, source: str, target: str) -> Transition | None:
        return next((t for t in self.transitions_from(source) if t.target == target), None)

    def by_name(self, name: str) -> Transition | None:
        return next((t for t in self.transitions if t.name == name), None)


def parse(entity_type: str, doc: dict[str, Any]) -> Workflow:
    """Build a Workflow from its document, checked against the workflow file's schema first:
    raises InvalidInput naming each bad key by its path in a file
    (``types.<entity_type>.transitions[2].rolse``), then anything the schema cannot see."""
    # Imported here: the schema reads the rule kinds, and their module imports this one.
    from webapp.core.workflows import schema

    schema.check_type(entity_type, doc)
    try:
        return _parse(entity_type, doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"The workflow for {entity_type!r} is malformed: {exc}",
                           {"definition": str(exc)}) from exc


def _parse(entity_type: str, doc: dict[str, Any]) -> Workflow:
    states = {name: _state(name, spec) for name, spec in doc["states"].items()}
    transitions = tuple(_transition(t) for t in doc.get("transitions", []))
    sweep = doc.get("sweep")
    return Workflow(
        entity_type=entity_type,
        label=doc.get("label", label(entity_type).title()),
        initial=doc["initial"],
        states=states,
        transitions=transitions,
        parent_type=doc.get("parent_type"),
        cascades=tuple(_cascade(c) for c in doc.get("cascades", [])),
        derived=tuple(_derivation(d) for d in doc.get("derived", [])),
        sweep=_sweep(entity_type, sweep) if sweep else None,
        fields=parse_fields(doc.get("fields")),
        settings=_settings(entity_type, doc),
        bulk_limit=_setting_name("bulk_limit", doc.get("bulk_limit")),
        slas=timing.parse_slas(doc.get("slas")),
    )


def _sweep(entity_type: str, spec: dict[str, Any]) -> SweepSpec:
    implied = implied_sweep_settings(entity_type)
    names = {k: _setting_name(f"sweep {k}", spec.get(k) or implied[k]) for k in implied}
    return SweepSpec(tuple(spec["from"]), spec["inactive"], spec.get("reactivate_to"), **names)


def implied_sweep_settings(entity_type: str) -> dict[str, str]:
    """The settings a type's sweep reads unless its file names others."""
    return {"grace_setting": f"{entity_type}_grace_period",
            "warning_setting": f"{entity_type}_warning_period",
            "auto_setting": f"{entity_type}_auto_inactivate"}


def _setting_name(what: str, name: Any) -> str | None:
    if name is not None and not isinstance(name, str):
        raise ValueError(f"{what} must name a setting")
    return name


def _settings(entity_type: str, doc: dict[str, Any]) -> tuple[Setting, ...]:
    """The type's ``settings`` block: ``{key: declaration}`` (see ``Setting.from_spec``);
    a declaration without a group is listed under the type's name."""
    block = doc.get("settings", {})
    if not isinstance(block, dict):
        raise ValueError("settings must be an object {name: declaration}")  # noqa: TRY004
    group = f"{doc.get('label') or label(entity_type).title()} settings"
    return tuple(Setting.from_spec(key, spec, group) for key, spec in block.items())


def _state(name: str, spec: dict[str, Any]) -> State:
    category = spec.get("category", "active")
    if category not in CATEGORIES:
        raise ValueError(f"state {name!r}: category must be one of {', '.join(CATEGORIES)}")
    return State(name, spec.get("label", label(name).capitalize()), category,
                 bool(spec.get("terminal", False)), timing.parse_timeout(spec.get("timeout")))


def _transition(spec: dict[str, Any]) -> Transition:
    sources = spec["from"]
    return Transition(
        name=spec["name"],
        sources=tuple([sources] if isinstance(sources, str) else sources),
        target=spec["to"],
        roles=tuple(spec.get("roles", ())),
        comment_required=bool(spec.get("comment_required", False)),
        rules=tuple(RuleSpec(r["kind"], dict(r.get("params", {})), r.get("message"))
                    for r in spec.get("rules", [])),
        approval_roles=tuple((spec.get("approval") or {}).get("roles", ())),
    )


def _cascade(spec: dict[str, Any]) -> Cascade:
    return Cascade(spec["on_enter"], tuple(spec["path"]), tuple(spec["from"]), spec["to"])


def _derivation(spec: dict[str, Any]) -> Derivation:
    return Derivation(
        child_type=spec["child_type"],
        count_states=tuple(spec["count_states"]),
        trigger_states=tuple(spec["trigger_states"]),
        applies_in=tuple(spec["applies_in"]),
        thresholds=tuple((t["at_most"], t["to"]) for t in spec["thresholds"]),
    )


def to_document(wf: Workflow) -> dict[str, Any]:
    """The inverse of ``parse``: the declarative document for export and storage."""
    doc: dict[str, Any] = {
        "label": wf.label, "initial": wf.initial, "parent_type": wf.parent_type,
        "states": {s.name: {"label": s.label, "category": s.category, "terminal": s.terminal,
                            **({"timeout": timing.export_timeout(s.timeout)} if s.timeout else {})}
                   for s in wf.states.values()},
        "transitions": [_transition_doc(t) for t in wf.transitions],
        "cascades": [{"on_enter": c.on_enter, "path": list(c.path), "from": list(c.from_states),
                      "to": c.to} for c in wf.cascades],
        "derived": [{"child_type": d.child_type, "count_states": list(d.count_states),
                     "trigger_states": list(d.trigger_states), "applies_in": list(d.applies_in),
                     "thresholds": [{"at_most": n, "to": s} for n, s in d.thresholds]}
                    for d in wf.derived],
        "fields": export_fields(wf.fields),
    }
    if wf.sweep:
        doc["sweep"] = {"from": list(wf.sweep.from_states), "inactive": wf.sweep.inactive_state,
                        "reactivate_to": wf.sweep.reactivate_to, **_named_sweep_settings(wf)}
    if wf.settings:
        doc["settings"] = {s.key: s.to_spec() for s in wf.settings}
    if wf.bulk_limit:
        doc["bulk_limit"] = wf.bulk_limit
    if wf.slas:
        doc["slas"] = timing.export_slas(wf.slas)
    return doc


def _named_sweep_settings(wf: Workflow) -> dict[str, str]:
    """The sweep's settings that the file named (the implied ones are left implied)."""
    assert wf.sweep is not None
    implied = implied_sweep_settings(wf.entity_type)
    return {k: getattr(wf.sweep, k) for k in implied if getattr(wf.sweep, k) != implied[k]}


def _transition_doc(t: Transition) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": t.name, "from": list(t.sources), "to": t.target}
    if t.roles:
        doc["roles"] = list(t.roles)
    if t.comment_required:
        doc["comment_required"] = True
    if t.rules:
        doc["rules"] = [{"kind": r.kind, "params": r.params, **({"message": r.message} if r.message else {})}
                        for r in t.rules]
    if t.approval_roles:
        doc["approval"] = {"roles": list(t.approval_roles)}
    return doc


def check(wf: Workflow, rule_kinds: set[str] | None = None) -> list[str]:
    """Static problems: unknown states, duplicates, unreachable states, non-terminal dead ends."""
    problems = _reference_problems(wf, rule_kinds)
    if problems:
        return problems
    reachable = _reachable(wf)
    for s in wf.states.values():
        if s.name not in reachable:
            problems.append(f"State {s.name!r} cannot be reached from {wf.initial!r}.")
        if not s.terminal and not wf.transitions_from(s.name):
            problems.append(f"State {s.name!r} is a dead end but not marked terminal.")
        if s.terminal and wf.transitions_from(s.name):
            problems.append(f"State {s.name!r} is terminal but has transitions out of it.")
    return problems


def _reference_problems(wf: Workflow, rule_kinds: set[str] | None) -> list[str]:
    problems = []
    if wf.initial not in wf.states:
        problems.append(f"Initial state {wf.initial!r} is not one of the states.")
    names = [t.name for t in wf.transitions]
    problems += [f"Transition name {n!r} is used twice." for n in sorted(set(names))
                 if names.count(n) > 1]
    for t in wf.transitions:
        for s in (*[x for x in t.sources if x != WILDCARD], t.target):
            if s not in wf.states:
                problems.append(f"Transition {t.name!r} names unknown state {s!r}.")
        for r in t.rules:
            if rule_kinds is not None and r.kind not in rule_kinds:
                problems.append(f"Transition {t.name!r} uses unknown rule kind {r.kind!r}.")
    return problems + _follow_up_problems(wf) + timing.problems(wf)


def _follow_up_problems(wf: Workflow) -> list[str]:
    """Own states named by cascades, derived statuses and the sweep (a typo would write a
    status the workflow does not have)."""
    named = [(f"Cascade on {c.on_enter!r}", c.on_enter) for c in wf.cascades]
    for d in wf.derived:
        named += [("A derived status", s) for s in (*d.applies_in, *(to for _, to in d.thresholds))]
    if wf.sweep:
        named += [("The sweep", s) for s in (*wf.sweep.from_states, wf.sweep.inactive_state,
                                             wf.sweep.reactivate_to) if s is not None]
    return [f"{what} names unknown state {state!r}." for what, state in named
            if state not in wf.states]


def _reachable(wf: Workflow) -> set[str]:
    seen, todo = {wf.initial}, [wf.initial]
    while todo:
        for t in wf.transitions_from(todo.pop()):
            if t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen


def settings_problems(wf: Workflow, known: Mapping[str, Setting]) -> list[str]:
    """The settings the workflow reads that are not declared (by itself, or among ``known``:
    the generic and built-in ones), or not of the kind it reads them as. A sweep without its
    settings would otherwise never run for the type, silently."""
    own = {s.key: s for s in wf.settings}
    available = {**known, **own}
    problems = [f"Setting {k!r} is a generic setting; a workflow cannot declare it."
                for k in own if k in GENERIC]
    needed: list[tuple[str, str | None, type]] = []
    if wf.sweep:
        needed += [("The sweep", wf.sweep.grace_setting, int),
                   ("The sweep", wf.sweep.warning_setting, int)]
        if wf.sweep.auto_setting in available:
            needed.append(("The sweep", wf.sweep.auto_setting, bool))
    needed.append(("The bulk limit", wf.bulk_limit, int))
    needed += [(f"Setting {s.key!r} (below)", s.below, int) for s in wf.settings]
    needed += [("A derived status", n, int) for d in wf.derived for n, _ in d.thresholds
               if isinstance(n, str)]
    for what, key, type_ in needed:
        if key is None:
            continue
        if key not in available:
            problems.append(f"{what} reads setting {key!r}, which is not declared: add it to "
                            f"the type's \"settings\".")
        elif available[key].type is not type_:
            kind = "a whole number" if type_ is int else "true or false"
            problems.append(f"{what} reads setting {key!r} as {kind}, but it is declared "
                            f"as {available[key].type.__name__}.")
    return problems

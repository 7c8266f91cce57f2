"""Loops among cascades and derived statuses, found before a workflow is saved.

Entering a (type, state) sets off follow-ups in other types (cascades downwards, derived
statuses upwards); a set of workflows whose follow-ups could go round for ever is refused
(the StateManager also stops such a loop at run time: ``CascadeLoop``).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping

from webapp.core.base.words import label
from webapp.core.workflows.definition import Workflow

#: A (type, state) pair: "an entity of this type enters this state".
Node = tuple[str, str]


def follow_up_loops(workflows: Mapping[str, Workflow],
                    through: Collection[str] | None = None) -> list[str]:
    """The loops among the cascades and derived statuses of ``workflows`` taken together (they
    cross types), one sentence each; with ``through``, only loops that involve those types.

    Entering (type, state) sets off (type', state'): a cascade moves relatives below, a derived
    status moves the parent above. A loop is a group of these that lead round to each other,
    go both down and up, and move one type into two states: the same entity could then be
    moved back and forth for ever (at run time such a change is refused, see
    ``changes.cascades.Waves``). A chain that only descends a hierarchy of one type (a folder
    closing its sub-folders) ends at the leaves, and one that comes back to the very state it
    started from moves nothing (the entity is in that state already): neither is a loop.
    """
    edges = _follow_up_edges(workflows)
    loops: list[str] = []
    done: set[Node] = set()
    for node in sorted(edges):
        if node in done:
            continue
        group = {m for m in _reach(edges, node) if node in _reach(edges, m)}
        done |= group
        walk = _loop_in(edges, group)
        if walk and (through is None or {t for t, _ in group} & set(through)):
            steps = " → ".join(f"{label(t)} {s}" for t, s in walk)
            loops.append(f"The cascades loop: {steps}; a change there could go round for ever. "
                         "Remove one of these cascades or derived statuses.")
    return loops


def _follow_up_edges(workflows: Mapping[str, Workflow]) -> dict[Node, list[tuple[Node, bool]]]:
    """For each (type, state), what entering it sets off, and whether that climbs (derived)."""
    edges: dict[Node, list[tuple[Node, bool]]] = {}
    for wf in workflows.values():
        for c in wf.cascades:
            if set(c.from_states) - {c.to}:
                edges.setdefault((wf.entity_type, c.on_enter), []).append(((c.path[-1], c.to), False))
        for d in wf.derived:
            for trigger in d.trigger_states:
                edges.setdefault((d.child_type, trigger), []).extend(
                    ((wf.entity_type, to), True) for _, to in d.thresholds
                    if set(d.applies_in) - {to})
    return {node: sorted(set(out)) for node, out in edges.items()}


def _reach(edges: Mapping[Node, list[tuple[Node, bool]]], start: Node,
           within: Collection[Node] | None = None) -> dict[Node, Node | None]:
    """Every node reachable from ``start`` (inside ``within``), each with the one before it on
    a shortest way there."""
    came: dict[Node, Node | None] = {start: None}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        for node, _climbs in edges.get(here, ()):
            if node not in came and (within is None or node in within):
                came[node] = here
                todo.append(node)
    return came


def _loop_in(edges: Mapping[Node, list[tuple[Node, bool]]], group: set[Node]) -> list[Node] | None:
    """A round trip through two states of one type inside ``group`` (nodes that all lead to
    each other), when the group is a loop (see ``follow_up_loops``); None otherwise."""
    kinds = {climbs for a in group for b, climbs in edges.get(a, ()) if b in group}
    states: dict[str, list[Node]] = {}
    for node in sorted(group):
        states.setdefault(node[0], []).append(node)
    twice = next((nodes for nodes in states.values() if len(nodes) > 1), None)
    if kinds != {True, False} or twice is None:
        return None
    there, back = _way(edges, twice[0], twice[1], group), _way(edges, twice[1], twice[0], group)
    return there + back[1:]


def _way(edges: Mapping[Node, list[tuple[Node, bool]]], start: Node, goal: Node,
         group: set[Node]) -> list[Node]:
    came = _reach(edges, start, group)
    way: list[Node] = []
    at: Node | None = goal
    while at is not None:
        way.append(at)
        at = came[at]
    return way[::-1]

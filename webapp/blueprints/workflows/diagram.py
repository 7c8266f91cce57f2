"""A workflow's state diagram, laid out in Python and drawn as SVG by ``_diagram.html``.

A small layered layout (Sugiyama-style, no JavaScript, no network): states go in columns by
their longest distance from the initial state once loops are broken, so every arrow points
to a later column except the loops, which are drawn back along the same lanes. Arrows that
skip columns pass through waypoints of their own, so no arrow crosses a state's box; rows
are ordered to cut crossings, and labels are nudged along their arrow until they don't
overlap each other.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from webapp.core.workflows.definition import WILDCARD, Workflow

MARGIN, START_GAP = 16, 44
NODE_MIN_W, NODE_MIN_H, PORT_STEP = 96, 40, 18
ROW_GAP, WAYPOINT_H, WAYPOINT_GAP = 26, 12, 8
FONT_W, LABEL_FONT_W, LABEL_H = 7.4, 6.4, 15
Point = tuple[float, float]


@dataclass
class Node:
    name: str
    label: str
    category: str
    terminal: bool
    initial: bool
    reachable: bool
    layer: int = 0
    w: float = NODE_MIN_W
    h: float = NODE_MIN_H
    x: float = 0
    y: float = 0


@dataclass
class Edge:
    name: str
    source: str
    target: str
    #: Drawn against the columns (a loop back to an earlier state).
    back: bool
    lane: list[str] = field(default_factory=list)  # layout order: node, waypoints..., node
    points: list[Point] = field(default_factory=list)
    d: str = ""
    label_x: float = 0
    label_y: float = 0
    label_w: float = 0
    #: The column its lane starts from, and the gap after which column holds its label.
    first_layer: int = 0
    label_gap: int = 0


@dataclass
class Diagram:
    width: float
    height: float
    nodes: list[Node]
    edges: list[Edge]
    start: Point


def layout(wf: Workflow) -> Diagram:
    """Positions for every state, arrow and label of ``wf``'s diagram."""
    nodes = {s.name: Node(s.name, s.label, s.category, s.terminal, s.name == wf.initial, True)
             for s in wf.states.values()}
    edges = _edges(wf)
    order = _break_loops(wf, nodes, edges)
    _rank(nodes, edges, order)
    layers, waypoints = _lanes(nodes, edges, order)
    _order(layers, edges)
    ports = _ports(layers, edges)
    _size(nodes, ports)
    ys = _rows(layers, nodes, edges)
    xs, widths = _columns(layers, nodes, edges)
    for n in nodes.values():
        n.x, n.y = xs[n.layer] + (widths[n.layer] - n.w) / 2, ys[n.name]
    _route(edges, nodes, ports, ys, xs, widths, waypoints)
    _place_labels(edges, list(nodes.values()))
    return _framed(nodes, edges, wf.initial)


def _edges(wf: Workflow) -> list[Edge]:
    """One arrow per (source state, transition); a wildcard fans out as the workflow does."""
    out = []
    for t in wf.transitions:
        sources = ([s.name for s in wf.states.values() if not s.terminal]
                   if WILDCARD in t.sources else list(t.sources))
        out += [Edge(t.name, s, t.target, False) for s in dict.fromkeys(sources)
                if s != t.target and s in wf.states and t.target in wf.states]
    return out


def _break_loops(wf: Workflow, nodes: dict[str, Node], edges: list[Edge]) -> list[str]:
    """Depth-first from the initial state: an arrow into a state still being explored closes
    a loop and is marked ``back``. States not met from the initial state are unreachable
    (and explored afterwards). Returns the order the states were met in."""
    out: dict[str, list[Edge]] = {n: [] for n in nodes}
    for e in edges:
        out[e.source].append(e)
    seen: list[str] = []
    if wf.initial in nodes:
        _visit(wf.initial, out, seen)
    for name, node in nodes.items():
        if name not in seen:
            node.reachable = False
            _visit(name, out, seen)
    return seen


def _visit(root: str, out: dict[str, list[Edge]], seen: list[str]) -> None:
    on_path, stack = {root}, [(root, iter(out[root]))]
    seen.append(root)
    while stack:
        node, todo = stack[-1]
        e = next(todo, None)
        if e is None:
            stack.pop()
            on_path.discard(node)
        elif e.target in on_path:
            e.back = True
        elif e.target not in seen:
            seen.append(e.target)
            on_path.add(e.target)
            stack.append((e.target, iter(out[e.target])))


def _forward(e: Edge) -> tuple[str, str]:
    """The arrow's ends in column order (a loop back is laid out the other way round)."""
    return (e.target, e.source) if e.back else (e.source, e.target)


def _rank(nodes: dict[str, Node], edges: list[Edge], order: list[str]) -> None:
    """Columns: the longest path from the start once loops are broken (a topological walk)."""
    pairs = [_forward(e) for e in edges]
    incoming = {n: 0 for n in nodes}
    for _, b in pairs:
        incoming[b] += 1
    ready = [n for n in order if incoming[n] == 0]
    while ready:
        a = ready.pop(0)
        for x, b in pairs:
            if x == a:
                nodes[b].layer = max(nodes[b].layer, nodes[a].layer + 1)
                incoming[b] -= 1
                if incoming[b] == 0:
                    ready.append(b)


def _lanes(nodes: dict[str, Node], edges: list[Edge], order: list[str]
           ) -> tuple[list[list[str]], dict[str, int]]:
    """Columns of states, plus a waypoint in every column an arrow passes through."""
    layers: list[list[str]] = [[] for _ in range(max(n.layer for n in nodes.values()) + 1)]
    for name in order:
        layers[nodes[name].layer].append(name)
    waypoints: dict[str, int] = {}
    for i, e in enumerate(edges):
        a, b = _forward(e)
        e.lane, e.first_layer = [a], nodes[a].layer
        for layer in range(nodes[a].layer + 1, nodes[b].layer):
            wp = f"\0{i}:{layer}"
            waypoints[wp] = layer
            layers[layer].append(wp)
            e.lane.append(wp)
        e.lane.append(b)
    return layers, waypoints


def _links(edges: list[Edge]) -> list[tuple[str, str]]:
    """Every hop between neighbouring columns (state or waypoint to state or waypoint)."""
    return [hop for e in edges for hop in itertools.pairwise(e.lane)]


def _neighbours(links: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a, b in links:
        out.setdefault(a, []).append(b)
        out.setdefault(b, []).append(a)
    return out


def _order(layers: list[list[str]], edges: list[Edge], rounds: int = 8) -> None:
    """Barycentre sweeps down and up the columns, keeping the order with fewest crossings."""
    links = _links(edges)
    near = _neighbours(links)
    best, best_cost = [list(x) for x in layers], _crossings(layers, links)
    for r in range(rounds):
        sweep = range(1, len(layers)) if r % 2 == 0 else range(len(layers) - 2, -1, -1)
        for i in sweep:
            ref = {n: k for k, n in enumerate(layers[i - 1 if r % 2 == 0 else i + 1])}
            here = {n: k for k, n in enumerate(layers[i])}
            layers[i].sort(key=lambda n, ref=ref, here=here: _barycentre(n, ref, near, here))
        cost = _crossings(layers, links)
        if cost < best_cost:
            best, best_cost = [list(x) for x in layers], cost
    layers[:] = best


def _barycentre(node: str, ref: dict[str, int], near: dict[str, list[str]],
                here: dict[str, int]) -> float:
    """The mean position of a node's neighbours in the reference column."""
    spots = [ref[o] for o in near.get(node, ()) if o in ref]
    return sum(spots) / len(spots) if spots else float(here[node])


def _crossings(layers: list[list[str]], links: list[tuple[str, str]]) -> int:
    pos = {n: k for layer in layers for k, n in enumerate(layer)}
    total = 0
    for i in range(len(layers) - 1):
        here, there = set(layers[i]), set(layers[i + 1])
        segs = [(pos[a], pos[b]) for a, b in links if a in here and b in there]
        segs += [(pos[b], pos[a]) for a, b in links if b in here and a in there]
        total += sum(1 for j, (a1, b1) in enumerate(segs) for a2, b2 in segs[j + 1:]
                     if (a1 - a2) * (b1 - b2) < 0)
    return total


def _ports(layers: list[list[str]], edges: list[Edge]) -> dict[tuple[str, int, str], int]:
    """Where each arrow meets a box: (node, edge, side) -> slot, sorted by the far end's row
    so that arrows leaving one side do not cross each other."""
    pos = {n: k for layer in layers for k, n in enumerate(layer)}
    sides: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for i, e in enumerate(edges):
        a, b = e.lane[0], e.lane[-1]
        sides.setdefault((a, "out"), []).append((pos[e.lane[1]] + 0.01 * i, i))
        sides.setdefault((b, "in"), []).append((pos[e.lane[-2]] + 0.01 * i, i))
    return {(node, i, side): slot for (node, side), items in sides.items()
            for slot, (_, i) in enumerate(sorted(items))} | {
        (node, -1, side): len(items) for (node, side), items in sides.items()}


def _size(nodes: dict[str, Node], ports: dict[tuple[str, int, str], int]) -> None:
    for n in nodes.values():
        most = max(ports.get((n.name, -1, "in"), 0), ports.get((n.name, -1, "out"), 0))
        n.w = max(NODE_MIN_W, len(n.label) * FONT_W + 22)
        n.h = max(NODE_MIN_H, most * PORT_STEP + 14)


def _rows(layers: list[list[str]], nodes: dict[str, Node], edges: list[Edge]) -> dict[str, float]:
    """Vertical positions: stacked in order, then pulled towards their neighbours' rows."""
    def height(item: str) -> float:
        return nodes[item].h if item in nodes else WAYPOINT_H

    def gap(item: str) -> float:
        return ROW_GAP if item in nodes else WAYPOINT_GAP

    ys: dict[str, float] = {}
    for layer in layers:
        y = 0.0
        for item in layer:
            ys[item], y = y, y + height(item) + gap(item)
    near = _neighbours(_links(edges))
    for _ in range(6):
        for layer in layers:
            want = [_pull(item, ys, near, height) for item in layer]
            _settle(layer, want, ys, height, gap)
    return ys


def _pull(item: str, ys: dict[str, float], near: dict[str, list[str]], height) -> float:
    """The row that would centre ``item`` on the things it is linked to."""
    mids = [ys[o] + height(o) / 2 for o in near.get(item, ())]
    centre = sum(mids) / len(mids) if mids else ys[item] + height(item) / 2
    return centre - height(item) / 2


def _settle(layer: list[str], want: list[float], ys: dict[str, float], height, gap) -> None:
    """Move items to their wanted rows, keeping their order and spacing (pushed apart around
    the middle so a column does not drift downwards)."""
    placed = list(want)
    for k in range(1, len(layer)):
        floor = placed[k - 1] + height(layer[k - 1]) + gap(layer[k - 1])
        placed[k] = max(placed[k], floor)
    shift = (sum(want) - sum(placed)) / len(layer) if layer else 0
    for k in range(len(layer)):
        placed[k] += shift
    for k in range(len(layer) - 2, -1, -1):
        ceiling = placed[k + 1] - height(layer[k]) - gap(layer[k])
        placed[k] = min(placed[k], ceiling)
    for item, y in zip(layer, placed, strict=True):
        ys[item] = y


def _columns(layers: list[list[str]], nodes: dict[str, Node], edges: list[Edge]
             ) -> tuple[list[float], list[float]]:
    """Column x positions. Each label goes in the gap between two columns that its arrow
    crosses, nearest the state it leaves unless a gap further on is already wide enough;
    each gap is made as wide as its widest label."""
    widths = [max(nodes[n].w for n in layer if n in nodes) for layer in layers]
    gaps = [48.0] * len(layers)
    for e in sorted(edges, key=lambda e: -len(e.name)):
        e.label_w = len(e.name) * LABEL_FONT_W + 12
        first, last = e.first_layer, nodes[e.lane[-1]].layer
        span = list(range(last - 1, first - 1, -1) if e.back else range(first, last))
        need = e.label_w + 16
        e.label_gap = min(span, key=lambda c: (max(0.0, need - gaps[c]), span.index(c)))
        gaps[e.label_gap] = max(gaps[e.label_gap], need)
    xs, x = [], float(MARGIN + START_GAP)
    for w, g in zip(widths, gaps, strict=True):
        xs.append(x)
        x += w + g
    return xs, widths


def _route(edges: list[Edge], nodes: dict[str, Node], ports: dict, ys: dict[str, float],
           xs: list[float], widths: list[float], waypoints: dict[str, int]) -> None:
    for i, e in enumerate(edges):
        a, b = nodes[e.lane[0]], nodes[e.lane[-1]]
        points: list[Point] = [(a.x + a.w, _port_y(a, ports, i, "out"))]
        for wp in e.lane[1:-1]:
            layer, y = waypoints[wp], ys[wp] + WAYPOINT_H / 2
            points += [(xs[layer], y), (xs[layer] + widths[layer], y)]
        points.append((b.x, _port_y(b, ports, i, "in")))
        e.points = points


def _port_y(n: Node, ports: dict, edge: int, side: str) -> float:
    count = ports[(n.name, -1, side)]
    return n.y + n.h / 2 + (ports[(n.name, edge, side)] - (count - 1) / 2) * PORT_STEP


def _path(points: list[Point]) -> str:
    """Smooth S-curves between points (level where they meet), straight through waypoints."""
    d = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        if abs(y1 - y2) < 0.5:
            d.append(f"L{x2:.1f},{y2:.1f}")
        else:
            mx = (x1 + x2) / 2
            d.append(f"C{mx:.1f},{y1:.1f} {mx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}")
    return " ".join(d)


def _bezier(p: Point, q: Point, t: float) -> Point:
    mx = (p[0] + q[0]) / 2
    c = [p, (mx, p[1]), (mx, q[1]), q]
    u = 1 - t
    return (u**3 * c[0][0] + 3 * u * u * t * c[1][0] + 3 * u * t * t * c[2][0] + t**3 * c[3][0],
            u**3 * c[0][1] + 3 * u * u * t * c[1][1] + 3 * u * t * t * c[2][1] + t**3 * c[3][1])


#: Where a label may sit: along its stretch of arrow (t), then just above or below it.
_SPOTS = [(t, dy) for dy in (0, -9, 9, -18, 18) for t in (0.5, 0.35, 0.65, 0.2, 0.8)]


def _place_labels(edges: list[Edge], nodes: list[Node]) -> None:
    """Each label on its arrow's stretch through the gap chosen for it (see ``_columns``),
    moved along or beside the arrow until it covers no box and no other label (or, failing
    that, as little as possible)."""
    boxes = [(n.x, n.y, n.w, n.h) for n in nodes]
    taken: list[tuple[float, ...]] = []
    for e in edges:
        k = e.label_gap - e.first_layer
        p, q = e.points[2 * k], e.points[2 * k + 1]
        best: tuple[float, tuple[float, ...]] | None = None
        for t, dy in _SPOTS:
            x, y = _bezier(p, q, t)
            box = (x - e.label_w / 2, y + dy - LABEL_H / 2, e.label_w, LABEL_H)
            # Covering a state's name is worse than touching another label.
            crowding = (sum(_overlap_area(box, other) for other in taken)
                        + 10 * sum(_overlap_area(box, other) for other in boxes))
            if best is None or crowding < best[0]:
                best = (crowding, box)
            if crowding == 0:
                break
        _, box = best
        e.label_x, e.label_y = box[0] + e.label_w / 2, box[1] + LABEL_H / 2
        taken.append(box)


def _overlap_area(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _framed(nodes: dict[str, Node], edges: list[Edge], initial: str) -> Diagram:
    """Shift everything so the top margin is MARGIN, and measure the picture."""
    label_tops = [e.label_y - LABEL_H / 2 for e in edges]
    lines = [y for e in edges for _, y in e.points]
    top = min([n.y for n in nodes.values()] + label_tops + lines)
    dy = MARGIN + 4 - top
    for n in nodes.values():
        n.y += dy
    for e in edges:
        e.label_y += dy
        e.points = [(x, y + dy) for x, y in e.points]
        e.d = _path(e.points)
    bottom = max([n.y + n.h for n in nodes.values()] + [e.label_y + LABEL_H / 2 for e in edges]
                 + [y for e in edges for _, y in e.points])
    right = max(n.x + n.w for n in nodes.values())
    first = nodes.get(initial)
    start = (MARGIN + 6, first.y + first.h / 2) if first else (MARGIN, MARGIN)
    return Diagram(right + MARGIN, bottom + MARGIN, list(nodes.values()), edges, start)


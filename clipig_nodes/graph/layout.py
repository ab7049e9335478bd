"""A tidy, deterministic layout for a whole graph (imported configs, "tidy up" in the editor).

Columns, left to right: the pixel source; the transforms of the chains (one
column per chain position); features and constraints, stacked just left of
their target; the targets; the train node. Rows: each target gets its own band
(its chain, its feature/constraint stack and the target itself), then the
post-processing chain gets one, then whatever is left (previews, unconnected
nodes) goes into a last band. Node heights are estimated from the number of
params, so nothing overlaps.
"""

from __future__ import annotations

from ..registry import SOURCE, TARGET_CAT, default_registry
from .chains import chain_into
from .model import Graph

WIDTH, GAP = 240, 60
HEADER, ROW = 40, 26


def node_size(graph: Graph, registry, node_id: str) -> tuple[float, float]:
    """Estimated (width, height) of a node in the editor."""
    node = graph.nodes[node_id]
    node_type = registry.get(node.type)
    count = len(node_type.param_list) if node_type is not None else len(node.params)
    return WIDTH, HEADER + ROW * count


def auto_layout(graph: Graph, registry=None) -> None:
    """Set every node's pos (top-left corner, y growing downwards)."""
    registry = registry or default_registry()

    def category(node_id):
        node_type = registry.get(graph.nodes[node_id].type)
        return node_type.category if node_type is not None else None

    sources = [n for n in graph.nodes if category(n) == SOURCE]
    trains = [n for n in graph.nodes if graph.nodes[n].type == "train"]
    targets = []
    for train in trains:
        targets += [l.src for l in graph.links_into(train, "targets")
                    if l.src in graph.nodes and l.src not in targets]
    targets += [n for n in graph.nodes if category(n) == TARGET_CAT and n not in targets]

    def chain(node_id, socket):
        return [n for n in chain_into(graph, registry, node_id, socket).nodes]

    chains = {t: chain(t, "image") for t in targets}
    postproc = [n for train in trains for n in chain(train, "postproc")]
    longest = max([len(c) for c in chains.values()] + [len(postproc), 0])
    column = lambda i: i * (WIDTH + GAP)                                      # noqa: E731
    stack_col, target_col, train_col = longest + 1, longest + 2, longest + 3

    placed: dict[str, tuple[float, float]] = {}
    height = lambda n: node_size(graph, registry, n)[1]                      # noqa: E731

    def put(node_id, x, y) -> float:
        """Place a node unless it already is (shared nodes stay where first met)."""
        if node_id in placed:
            return 0.0
        placed[node_id] = (x, y)
        return height(node_id)

    y = 0.0
    for target in targets:
        band = put(target, column(target_col), y)
        for i, node_id in enumerate(chains[target]):
            band = max(band, put(node_id, column(i + 1), y))
        stack_y = y
        for socket in ("features", "constraints"):
            for link in graph.links_into(target, socket):
                if link.src in graph.nodes and link.src not in placed:
                    stack_y += put(link.src, column(stack_col), stack_y) + GAP
        band = max(band, stack_y - y - GAP)
        y += max(band, 0.0) + GAP
    band = 0.0
    for i, node_id in enumerate(postproc):
        band = max(band, put(node_id, column(i + 1), y))
    y += band + GAP if band else 0.0

    stack = 0.0
    for node_id in sources:
        stack += put(node_id, column(0), stack) + GAP
    stack = 0.0
    for node_id in trains:
        stack += put(node_id, column(train_col), stack) + GAP

    # previews, dangling nodes: one row below everything placed so far
    rest = [n for n in graph.nodes if n not in placed]
    bottom = max([py + height(n) for n, (px, py) in placed.items()] + [-GAP]) + GAP
    x = 0.0
    for node_id in rest:
        put(node_id, x, bottom)
        x += WIDTH + GAP
    for node_id, pos in placed.items():
        graph.nodes[node_id].pos = (float(pos[0]), float(pos[1]))


def free_spot(graph, pos, step: float = 32.0, near: float = 24.0) -> tuple[float, float]:
    """`pos`, or the first place down and right of it in `step`s where no node already
    starts within `near`: nodes added one after another never land on each other."""
    x, y = float(pos[0]), float(pos[1])
    taken = [n.pos for n in graph]
    for _ in range(200):
        if all(abs(x - p[0]) >= near or abs(y - p[1]) >= near for p in taken):
            break
        x, y = x + step, y + step
    return (x, y)

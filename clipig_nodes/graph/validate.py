"""Validation: every problem of a graph in one pass, keyed by node id and param.

`analyse` parses every param once and collects errors and warnings; `validate`
returns just the problems, and the compiler reuses the parsed values. A node
that is broken itself (unknown type) is reported once; its links and the nodes
downstream are not blamed for it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..expressions import Expression
from ..problems import ERROR, WARNING, Problem
from ..registry import (CONSTRAINT_CAT, FEATURE_CAT, SINK, SOURCE, TARGET_CAT, TRANSFORM,
                        default_registry, unknown_message)
from ..values import ValueProblem, check_over_run, is_dynamic, parse_value
from .chains import chain_into
from .connect import socket_problem
from .inputs import input_problems
from .run_bounds import run_bounds
from .model import Graph
from .reroute import splice_reroutes

TRAIN, PIXELS = "train", "pixels"
_URL = re.compile(r"^https?://", re.I)


@dataclass
class Analysis:
    graph: Graph
    problems: list[Problem] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)   # node -> param -> parsed
    broken: set[str] = field(default_factory=set)     # nodes that cannot be used at all

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)

    def add(self, message, node=None, param=None, severity=ERROR):
        self.problems.append(Problem(message, severity, node=node, param=param))

    def warn(self, message, node=None, param=None):
        self.add(message, node, param, WARNING)


def validate(graph: Graph, registry=None, *, check_files: bool = False,
             base_dir: str | os.PathLike | None = None, epochs: int | None = None) -> list[Problem]:
    """All errors and warnings of `graph`. With check_files, path params must exist
    (relative paths are taken from base_dir, e.g. the graph file's folder). `epochs`
    overrides the train node's (as `run --epochs` does) for the range of expressions."""
    return analyse(graph, registry, check_files=check_files, base_dir=base_dir,
                   epochs=epochs).problems


def analyse(graph: Graph, registry=None, *, check_files: bool = False, base_dir=None,
            epochs: int | None = None) -> Analysis:
    registry = registry or default_registry()
    graph = splice_reroutes(graph)          # reroute dots mean nothing to the engine
    result = Analysis(graph)
    for node in graph:
        _check_node(result, registry, node, check_files, base_dir)
    _check_ranges(result, registry, epochs)
    _check_links(result, registry)
    useful = _reaching_a_sink(result.graph, registry)
    _check_inputs(result, registry, useful)
    _check_cycles(result)
    _check_counts(result, registry)
    _check_chains(result, registry)
    _check_reachability(result, registry, useful)
    result.problems += input_problems(graph, registry)
    return result


# --- nodes and params ----------------------------------------------------------------------------

def _check_node(result: Analysis, registry, node, check_files, base_dir) -> None:
    node_type = registry.get(node.type)
    if node_type is None:
        result.add(unknown_message("node type", node.type, registry.types), node.id)
        result.broken.add(node.id)
        return
    values: dict[str, Any] = {}
    bad = False
    for name, raw in node.params.items():
        param = node_type.param(name)
        if param is None:
            result.add(unknown_message("param", name, node_type.param_map) +
                       f" for {node.type}", node.id, str(name))
            continue
        try:
            values[name] = parse_value(param, raw)
        except ValueProblem as exc:
            result.add(str(exc), node.id, name)
            bad = True
    for param in node_type.param_list:
        if values.get(param.name) is None:
            if param.required:
                if param.name not in node.params or node.params[param.name] is None:
                    result.add(f"required ({param.doc.rstrip('.')}); it has no default",
                               node.id, param.name)
                bad = True
            else:
                values[param.name] = parse_value(param, param.default)
    result.values[node.id] = values
    if not bad:
        for param_name, message in node_type.check(values):
            result.add(message, node.id, param_name)
    _check_schedule(result, node.id, values)
    if check_files:
        _check_paths(result, node, node_type, values, base_dir)


def _check_schedule(result: Analysis, node_id: str, values: dict) -> None:
    for name in ("start", "end"):
        value = values.get(name)
        if isinstance(value, float) and value > 1.0:
            result.warn(f"{value:g} is a float, so it is a ratio of the run (1.0 = the last epoch); "
                        f"write {int(value)} for epoch {int(value)}", node_id, name)
    start, end = values.get("start"), values.get("end")
    if (start is not None and end is not None and type(start) is type(end) and start > end):
        result.warn(f"start {start} is after end {end}: the node is never active", node_id, "start")


def _check_paths(result: Analysis, node, node_type, values, base_dir) -> None:
    for param in node_type.param_list:
        value = values.get(param.name)
        if param.kind != "path" or not isinstance(value, str) or not value or _URL.match(value):
            continue
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            result.add(f"file not found: {path}", node.id, param.name)


# --- expressions over the whole run -----------------------------------------------------------
# Every expression is checked over every value its variables take in this graph's run (and
# every value its random functions can draw), so that what validates also runs.

def _check_ranges(result: Analysis, registry, epochs: int | None) -> None:
    bounds = run_bounds(result.graph, result.values, epochs)
    for node in result.graph:
        node_type = registry.get(node.type)
        values = result.values.get(node.id)
        if node_type is None or not values:
            continue
        node_bounds = bounds[_sim_kind(node_type)]
        for name, value in values.items():
            if not _reads_variables(value):
                continue        # constant (random) expressions are checked when parsed
            try:
                check_over_run(node_type.param(name), value, node_bounds)
            except ValueProblem as exc:
                result.add(str(exc), node.id, name)
                values[name] = None


def _reads_variables(value) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(isinstance(v, Expression) and v.variables for v in items)


def _sim_kind(node_type) -> str:
    if node_type.category == FEATURE_CAT:
        return "feature"
    return "target" if node_type.category in (CONSTRAINT_CAT, TARGET_CAT) else "other"


# --- links ---------------------------------------------------------------------------------------

def _check_links(result: Analysis, registry) -> None:
    graph = result.graph
    seen = set()
    for link in graph.links:
        if link in seen:
            result.add(f"duplicate link {link}", link.dst, link.dst_socket)
            continue
        seen.add(link)
        if link.src in result.broken or link.dst in result.broken:
            continue
        if link.src == link.dst:
            result.add(f"a node cannot feed itself ({link})", link.dst, link.dst_socket)
            continue
        reason = socket_problem(graph, registry, link)
        if reason:
            result.add(reason, link.dst if link.dst in graph else link.src, link.dst_socket)


def _check_inputs(result: Analysis, registry, useful: set[str]) -> None:
    """Missing inputs are errors where the node matters to the run; on a side branch that
    reaches no sink (half-built in the editor) they are only warnings."""
    graph = result.graph
    for node in graph:
        node_type = registry.get(node.type)
        if node_type is None:
            continue
        for socket in node_type.inputs:
            links = graph.links_into(node.id, socket.name)
            if socket.required and not links:
                result.add(f"input '{socket.name}' ({socket.type}) is not connected",
                           node.id, socket.name, ERROR if node.id in useful else WARNING)
            if not socket.multi and len(links) > 1:
                result.add(f"input '{socket.name}' takes one link, has {len(links)}: "
                           + ", ".join(str(l.src) for l in links), node.id, socket.name)


def _check_cycles(result: Analysis) -> None:
    import networkx as nx   # imported here: only validation and compile need it

    digraph = nx.DiGraph()
    digraph.add_nodes_from(result.graph.nodes)
    digraph.add_edges_from((l.src, l.dst) for l in result.graph.links
                           if l.src in result.graph and l.dst in result.graph and l.src != l.dst)
    for component in sorted(nx.strongly_connected_components(digraph), key=sorted):
        if len(component) < 2:
            continue
        first = sorted(component)[0]
        cycle = nx.find_cycle(digraph.subgraph(component), source=first)
        names = [edge[0] for edge in cycle] + [cycle[0][0]]
        result.add("cycle: " + " -> ".join(names), first)
        result.broken.update(component)


def _check_counts(result: Analysis, registry) -> None:
    def is_source(node):
        node_type = registry.get(node.type)
        return node_type is not None and node_type.category == SOURCE

    for matches, what, example in ((is_source, "pixel source", PIXELS),
                                   (lambda n: n.type == TRAIN, "train node", TRAIN)):
        found = [n.id for n in result.graph if matches(n)]
        if len(found) != 1:
            detail = "none" if not found else ", ".join(found)
            result.add(f"a graph needs exactly one {what} ('{example}'), found {detail}",
                       found[1] if len(found) > 1 else None)


# --- chains --------------------------------------------------------------------------------------

def _check_chains(result: Analysis, registry) -> None:
    graph = result.graph
    for node in graph:
        if node.id in result.broken:
            continue
        if node.type == TRAIN and graph.links_into(node.id, "postproc"):
            chain = chain_into(graph, registry, node.id, "postproc")
            for member in chain.nodes:
                member_type = registry.get(graph.nodes[member].type)
                if member_type.changes_resolution:
                    allowed = sorted(t.name for t in registry.by_category(TRANSFORM)
                                     if not t.changes_resolution)
                    result.add(f"'{member_type.name}' changes the resolution and is not allowed in "
                               f"the post-processing chain. Allowed: {', '.join(allowed)}", member)
        if registry.get(node.type) and registry.get(node.type).category == TARGET_CAT:
            _check_target_batch(result, registry, node)


def _check_target_batch(result: Analysis, registry, node) -> None:
    graph = result.graph
    values = result.values.get(node.id, {})
    batch = values.get("batch_size")
    if isinstance(batch, int) and batch > 1 and graph.links_into(node.id, "image"):
        chain = chain_into(graph, registry, node.id, "image")
        if chain.complete and not any(registry.get(graph.nodes[m].type).random for m in chain.nodes):
            result.warn(f"batch_size {batch} but no random transform in the chain: every view is "
                        "the same, so one is computed", node.id, "batch_size")
    if not graph.links_into(node.id, "features") and not graph.links_into(node.id, "constraints"):
        result.warn("no features and no constraints: this target adds nothing", node.id)


def _reaching_a_sink(graph: Graph, registry) -> set[str]:
    """Nodes whose output reaches the train node or a preview (sinks included)."""
    useful = {n.id for n in graph if registry.get(n.type) and registry.get(n.type).category == SINK}
    frontier = list(useful)
    while frontier:
        current = frontier.pop()
        for link in graph.links_into(current):
            if link.src not in useful:
                useful.add(link.src)
                frontier.append(link.src)
    return useful


def _check_reachability(result: Analysis, registry, useful: set[str]) -> None:
    """Warn about nodes whose output reaches no sink: they have no effect."""
    graph = result.graph
    for node in graph:
        node_type = registry.get(node.type)
        if node.id in useful or node.id in result.broken or node_type is None:
            continue
        if node_type.category == SOURCE:
            continue
        result.warn("not connected to the train node (or a preview): it has no effect", node.id)
    train = next((n for n in graph if n.type == TRAIN), None)
    if train is not None and not graph.links_into(train.id, "targets"):
        result.warn("no targets: the run only applies post-processing", train.id, "targets")


def dynamic_params(values: dict) -> list[str]:
    """Names of params whose value changes during the run."""
    return [name for name, value in values.items() if is_dynamic(value)]

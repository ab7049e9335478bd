"""Compile a valid graph into a plain run plan (`Program`) for the engine.

The plan holds, in a deterministic order: the pixel source, for each active
target its ordered transform chain, features and constraints, the
post-processing chain, the previews and the train settings. Param values are
parsed: constants folded to numbers, Expression objects where a value changes
during the run. Inactive nodes are left out, as if they were not there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..problems import ProblemsError
from ..registry import default_registry
from .chains import chain_into
from .model import Graph
from .validate import PIXELS, TRAIN, analyse


@dataclass(frozen=True)
class Stage:
    """One node as the engine runs it."""

    id: str
    type: str
    params: dict[str, Any]
    random: bool = False
    changes_resolution: bool = False

    @property
    def start(self):
        return self.params.get("start", 0.0)

    @property
    def end(self):
        return self.params.get("end", 1.0)


@dataclass(frozen=True)
class TargetPlan:
    stage: Stage
    chain: tuple[Stage, ...]
    features: tuple[Stage, ...]
    constraints: tuple[Stage, ...]

    @property
    def id(self) -> str:
        return self.stage.id

    @property
    def random(self) -> bool:
        """Whether views differ from sample to sample (else one view is enough)."""
        return any(s.random for s in self.chain)


@dataclass(frozen=True)
class PreviewPlan:
    stage: Stage
    chain: tuple[Stage, ...]


@dataclass(frozen=True)
class Program:
    source: Stage
    train: Stage
    targets: tuple[TargetPlan, ...]
    postproc: tuple[Stage, ...]
    previews: tuple[PreviewPlan, ...]
    order: tuple[str, ...]              # topological order of all nodes
    graph: Graph = field(compare=False)  # a copy of what was compiled (embedded in outputs)


def compile_graph(graph: Graph, registry=None) -> Program:
    """Validate and compile; raises ProblemsError with every error when the graph is invalid."""
    import networkx as nx

    registry = registry or default_registry()
    analysis = analyse(graph, registry)
    if not analysis.ok:
        raise ProblemsError([p for p in analysis.problems if p.is_error], "invalid graph")

    def stage(node_id: str) -> Stage:
        node = graph.nodes[node_id]
        node_type = registry[node.type]
        return Stage(node_id, node.type, dict(analysis.values[node_id]),
                     node_type.random, node_type.changes_resolution)

    def active(node_id: str) -> bool:
        return analysis.values[node_id].get("active", True) is not False

    def chain(node_id: str, socket: str) -> tuple[Stage, ...]:
        return tuple(stage(n) for n in chain_into(graph, registry, node_id, socket).nodes if active(n))

    def inputs(node_id: str, socket: str) -> tuple[Stage, ...]:
        return tuple(stage(l.src) for l in graph.links_into(node_id, socket) if active(l.src))

    digraph = nx.DiGraph()
    digraph.add_nodes_from(graph.nodes)
    digraph.add_edges_from((l.src, l.dst) for l in graph.links)
    order = tuple(nx.lexicographical_topological_sort(digraph))

    source_id = next(n.id for n in graph if n.type == PIXELS)
    train_id = next(n.id for n in graph if n.type == TRAIN)
    targets = tuple(
        TargetPlan(stage(link.src), chain(link.src, "image"), inputs(link.src, "features"),
                   inputs(link.src, "constraints"))
        for link in graph.links_into(train_id, "targets") if active(link.src))
    previews = tuple(PreviewPlan(stage(n.id), chain(n.id, "image"))
                     for n in graph if n.type == "preview")
    postproc = chain(train_id, "postproc") if graph.links_into(train_id, "postproc") else ()
    return Program(stage(source_id), stage(train_id), targets, postproc, previews, order,
                   graph.copy())

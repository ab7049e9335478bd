"""Compile a valid graph into a step program: flat ops over tensor slots, for the executor.

In networkx topological order the graph becomes a `StepProgram`. Each op holds its resolved
node type (the class, so a registry passed to `compile_graph` is honoured end to end), its
parsed params (constants folded, Expression objects where a value changes during the run) and
the slots it reads and writes. Passes do what the engine used to do by hand:

- inactive nodes (`active: false`) and nodes that reach no sink are dropped;
- a node shared by several chains is expanded into one op per chain (own random draws);
- runs of geometric transforms become one `gather` op (one pixel map, one read);
- every target's views are gathered into ONE `encode` op per model;
- the pixel source, the post-processing chain and the previews get their own phases.

The program is plain data (no torch): the engine's executor interprets it, knowing socket
types and op kinds, never node kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..problems import ProblemsError
from ..registry import IMAGE, MODEL, MODEL_CAT, SINK, SOURCE, TRANSFORM, default_registry
from .chains import chain_into, image_input
from .model import Graph
from .validate import TRAIN, analyse

IMPLICIT_MODEL = "train.model"     # model id of graphs without a model node (train's `model`)


@dataclass(frozen=True)
class Stage:
    """One node as the engine runs it."""

    id: str
    type: str                                   # the type's name (stats, messages)
    params: dict[str, Any]
    node_type: Any = field(default=None, compare=False, repr=False)   # the resolved class

    @property
    def random(self) -> bool:
        return bool(getattr(self.node_type, "random", False))

    @property
    def geometric(self) -> bool:
        return bool(getattr(self.node_type, "geometric", False))

    @property
    def changes_resolution(self) -> bool:
        return bool(getattr(self.node_type, "changes_resolution", False))

    @property
    def start(self):
        return self.params.get("start", 0.0)

    @property
    def end(self):
        return self.params.get("end", 1.0)


@dataclass(frozen=True)
class Op:
    """One instruction: `kind` says how the executor runs it (by socket type, not node kind)."""

    kind: str                           # apply | gather | encode | target | preview
    stages: tuple[Stage, ...]           # apply/target: one; gather: the fused run
    inputs: tuple[str, ...] = ()        # slots read
    outputs: tuple[str, ...] = ()       # slots written
    models: tuple[str, ...] = ()        # encode: the model; target: per feature
    owner: str = ""                     # the target whose views a chain op makes

    @property
    def stage(self) -> Stage:
        return self.stages[0]


@dataclass(frozen=True)
class TargetPlan:
    """One target with what it reads: the stats and the run panel show these."""

    stage: Stage
    chain: tuple[Stage, ...]
    features: tuple[Stage, ...]
    constraints: tuple[Stage, ...]
    feature_models: tuple[str, ...]     # model id per feature
    view_slot: str

    @property
    def id(self) -> str:
        return self.stage.id

    @property
    def models(self) -> tuple[str, ...]:
        """The models that see this target's views, in first-use order."""
        return tuple(dict.fromkeys(self.feature_models)) or (IMPLICIT_MODEL,)

    @property
    def random(self) -> bool:
        """Whether views differ from sample to sample (else one view is enough)."""
        return any(s.random for s in self.chain)


@dataclass(frozen=True)
class PreviewPlan:
    stage: Stage
    ops: tuple[Op, ...]                 # from the source's slot to `slot`
    slot: str


@dataclass(frozen=True)
class StepProgram:
    source: Stage
    train: Stage
    models: dict[str, Stage | None]     # model id -> its node (None: the implicit model)
    targets: tuple[TargetPlan, ...]
    views: tuple[Op, ...]               # every target's chain, in target order
    encodes: tuple[Op, ...]             # one per model: all targets' views, one forward
    losses: tuple[Op, ...]              # one per target
    postproc: tuple[Op, ...]
    previews: tuple[PreviewPlan, ...]
    order: tuple[str, ...]              # networkx topological order of the kept nodes
    graph: Graph = field(compare=False)  # a copy of what was compiled (embedded in outputs)
    registry: Any = field(default=None, compare=False, repr=False)

    @property
    def ops(self) -> tuple[Op, ...]:
        """The training step, in execution order."""
        return self.views + self.encodes + self.losses

    def preview_of(self, node_id: str, socket: str = "image") -> PreviewPlan:
        """A preview of any IMAGE output in the graph (the editor's right-click on a pin)."""
        return _Compiler(self.graph, self.registry, None).preview(node_id, socket)


SOURCE_SLOT = "source.image"


# Kept for readers of the old name.
Program = StepProgram


def compile_graph(graph: Graph, registry=None, epochs: int | None = None) -> StepProgram:
    """Validate and compile; raises ProblemsError with every error when the graph is invalid.
    `epochs` overrides the train node's for the expressions' range checks (run --epochs)."""
    registry = registry or default_registry()
    analysis = analyse(graph, registry, epochs=epochs)
    if not analysis.ok:
        raise ProblemsError([p for p in analysis.problems if p.is_error], "invalid graph")
    # the analysed graph has its reroute dots spliced out: they mean nothing to the engine
    return _Compiler(analysis.graph, registry, analysis.values).program()


class _Compiler:
    def __init__(self, graph: Graph, registry, values):
        if values is None:
            values = analyse(graph, registry).values
        self.graph, self.registry, self.values = graph, registry, values
        self.slots: dict[str, int] = {}

    # --- nodes --------------------------------------------------------------------------------

    def stage(self, node_id: str) -> Stage:
        node = self.graph.nodes[node_id]
        return Stage(node_id, node.type, dict(self.values[node_id]), self.registry[node.type])

    def active(self, node_id: str) -> bool:
        return self.values[node_id].get("active", True) is not False

    def inputs(self, node_id: str, socket: str) -> tuple[str, ...]:
        return tuple(l.src for l in self.graph.links_into(node_id, socket) if self.active(l.src))

    def slot(self, name: str) -> str:
        """A fresh slot name: a node expanded into several chains gets one slot per chain."""
        count = self.slots.get(name, 0)
        self.slots[name] = count + 1
        return name if count == 0 else f"{name}#{count}"

    # --- passes -------------------------------------------------------------------------------

    def chain(self, node_id: str, socket: str) -> list[Stage]:
        return [self.stage(n) for n in chain_into(self.graph, self.registry, node_id, socket).nodes
                if self.active(n)]

    def chain_ops(self, stages: list[Stage], owner: str = "") -> tuple[list[Op], str]:
        """Ops from the source through `stages`: geometric runs fused into gathers."""
        ops, slot, run = [], SOURCE_SLOT, []

        def flush():
            nonlocal slot
            if run:
                out = self.slot(f"{run[-1].id}.image")
                ops.append(Op("gather", tuple(run), (slot,), (out,), owner=owner))
                slot = out
                run.clear()

        for stage in stages:
            if stage.geometric:
                run.append(stage)
                continue
            flush()
            out = self.slot(f"{stage.id}.image")
            ops.append(Op("apply", (stage,), (slot,), (out,), owner=owner))
            slot = out
        flush()
        return ops, slot

    def feature_model(self, feature_id: str) -> str:
        node_type = self.registry[self.graph.nodes[feature_id].type]
        socket = next((s.name for s in node_type.inputs if s.type == MODEL), None)
        linked = self.inputs(feature_id, socket) if socket else ()
        return linked[0] if linked else IMPLICIT_MODEL

    def program(self) -> StepProgram:
        import networkx as nx

        graph = self.graph
        digraph = nx.DiGraph()
        digraph.add_nodes_from(graph.nodes)
        digraph.add_edges_from((l.src, l.dst) for l in graph.links)
        order = tuple(n for n in nx.lexicographical_topological_sort(digraph) if self.active(n))

        source_id = next(n.id for n in graph if self.registry[n.type].category == SOURCE)
        train_id = next(n.id for n in graph if n.type == TRAIN)
        targets, views, losses = [], [], []
        for target_id in self.inputs(train_id, "targets"):
            chain, slot = self.chain_ops(self.chain(target_id, "image"), target_id)
            features = self.inputs(target_id, "features")
            plan = TargetPlan(self.stage(target_id), tuple(s for op in chain for s in op.stages),
                              tuple(self.stage(f) for f in features),
                              tuple(self.stage(c) for c in self.inputs(target_id, "constraints")),
                              tuple(self.feature_model(f) for f in features), slot)
            targets.append(plan)
            views.extend(chain)
            losses.append(Op("target", (plan.stage,), (slot,), (f"{target_id}.loss",),
                             plan.feature_models))
        models: dict[str, Stage | None] = {}
        for plan in targets:
            for model_id in plan.models:
                models.setdefault(model_id, None if model_id == IMPLICIT_MODEL
                                  else self.stage(model_id))
        encodes = tuple(
            Op("encode", (), tuple(p.view_slot for p in targets if m in p.models),
               tuple(f"{p.id}.z.{m}" for p in targets if m in p.models), (m,))
            for m in models)
        postproc: list[Op] = []
        if graph.links_into(train_id, "postproc"):
            # post-processing edits the pixels themselves, one stage after the other
            postproc = [Op("apply", (s,), (), ()) for s in self.chain(train_id, "postproc")]
        previews = tuple(self.preview(n.id, "image", sink=True) for n in graph
                         if self.registry[n.type].category == SINK and n.type != TRAIN
                         and image_input(self.registry[n.type]) and n.id in order
                         and graph.links_into(n.id, "image"))
        return StepProgram(self.stage(source_id), self.stage(train_id), models, tuple(targets),
                           tuple(views), encodes, tuple(losses), tuple(postproc), previews,
                           order, graph.copy(), self.registry)

    def preview(self, node_id: str, socket: str, sink: bool = False) -> PreviewPlan:
        """The ops that make the image at `node_id` (a sink's input, or any IMAGE output)."""
        node = self.graph.nodes.get(node_id)
        node_type = self.registry.get(node.type) if node else None
        if node_type is None:
            raise KeyError(f"no node '{node_id}'")
        if sink:
            ops, slot = self.chain_ops(self.chain(node_id, socket))
            return PreviewPlan(self.stage(node_id), tuple(ops), slot)
        output = node_type.output(socket)
        if output is None or output.type != IMAGE:
            raise KeyError(f"'{node_id}' has no IMAGE output '{socket}'")
        if node_type.category == SOURCE:
            return PreviewPlan(self.stage(node_id), (), SOURCE_SLOT)
        if node_type.category != TRANSFORM:
            raise KeyError(f"'{node_id}' ({node_type.name}) cannot be previewed")
        own = self.stage(node_id)
        ops, slot = self.chain_ops([*self.chain(node_id, image_input(node_type)), own])
        return PreviewPlan(own, tuple(ops), slot)


__all__ = ["IMPLICIT_MODEL", "MODEL_CAT", "Op", "PreviewPlan", "Program", "SOURCE_SLOT", "Stage",
           "StepProgram", "TargetPlan", "compile_graph"]

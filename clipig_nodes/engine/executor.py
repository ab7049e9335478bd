"""The executor: runs a compiled StepProgram over tensor slots.

It knows op kinds and socket types (IMAGE tensors, views not read yet, MODEL objects, FEATURE
embeddings, TARGET losses), never node kinds: every node's behaviour is a method of its type,
called through the contract in clipig_nodes/nodebase.py. A new source, transform, model,
feature, constraint or target type therefore runs without a change here.

One training step (`forward`):
  expand   the rendered image to each active target's batch (one view when nothing is random)
  apply    a transform on its input slot (views are read first when they are not yet)
  gather   a fused run of geometric transforms: composes where each pixel comes from
  encode   per model, ONE forward over every active target's views (resized to its input)
  target   the target's loss from its embeddings, views, features and constraints
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from ..graph.compile import SOURCE_SLOT, PreviewPlan, Stage, StepProgram, TargetPlan
from ..values import is_active_at
from . import imaging
from .errors import in_node
from .params import EpochContext, StageParams


def call_node(stage: Stage, fn: Callable, *args):
    """Run a node's code; an error in it names the node and the line of its code (out of
    memory passes as it is, for the run's own message)."""
    with in_node(stage.id, stage.type):
        return fn(*args)


def scheduled(stage: Stage, ctx: EpochContext) -> bool:
    return is_active_at(stage.start, stage.end, ctx.epoch, ctx.t)


def batch_of(x) -> int:
    return x.batch if isinstance(x, imaging.Warped) else x.shape[0]


@dataclass
class TargetCall:
    """What a target's `loss(t)` and `setup(t, image)` get (see nodebase.CONTRACT)."""

    plan: TargetPlan
    ctx: EpochContext
    embeddings: list[torch.Tensor]           # per feature [D], normalised
    state: dict                              # what setup() returned
    executor: "Executor"
    z: dict[str, torch.Tensor] = field(default_factory=dict)   # model id -> [B, D]
    views: torch.Tensor | None = None        # [B,3,S,S] as the first model sees them

    @property
    def stage(self) -> Stage:
        return self.plan.stage

    @property
    def features(self) -> tuple[Stage, ...]:
        return self.plan.features

    @property
    def feature_models(self) -> tuple[str, ...]:
        return self.plan.feature_models

    @property
    def constraints(self) -> tuple[Stage, ...]:
        return self.plan.constraints

    def params(self, stage: Stage, batch: int, sim: torch.Tensor | None = None) -> StageParams:
        return StageParams(stage, self.ctx, batch, sim)

    def active(self, stage: Stage) -> bool:
        return scheduled(stage, self.ctx)

    def call(self, stage: Stage, fn: Callable, *args):
        return call_node(stage, fn, *args)

    def constant(self, value) -> torch.Tensor:
        """A tensor made once per run from a host value (no copy to the device in the step)."""
        return self.executor.constant(value)

    def encode_image(self, image: torch.Tensor, model_id: str) -> torch.Tensor:
        """The model's embedding [D] of an image [1,3,H,W] (resized to its input size)."""
        model = self.executor.models[model_id]
        size = model.input_size
        view = imaging.resize(image.clamp(0, 1), (size, size), "bicubic", antialias=True)
        return model.encode_views(view.clamp(0, 1))[0].float()


class Executor:
    def __init__(self, program: StepProgram, models: dict[str, Any], device: torch.device,
                 base_dir: Path | None = None):
        self.program = program
        self.models = models
        self.device = device
        self.base_dir = base_dir
        self.embeddings: dict[str, list[torch.Tensor]] = {}
        self.target_state: dict[str, dict] = {}
        self._constants: dict = {}

    def constant(self, value) -> torch.Tensor:
        cached = self._constants.get(value)
        if cached is None:
            cached = self._constants[value] = torch.tensor(value, device=self.device)
        return cached

    # --- set-up: models and features ---------------------------------------------------------

    def encode_features(self, ctx: EpochContext, image: torch.Tensor) -> None:
        """Encode every target's features (cached by the model) and run the targets' setup."""
        for plan in self.program.targets:
            rows = []
            for stage, model_id in zip(plan.features, plan.feature_models):
                model = self.models[model_id]
                p = StageParams(stage, ctx, 1)
                rows.append(call_node(stage, stage.node_type.encode, model, p,
                                      self.base_dir).float())
            self.embeddings[plan.id] = rows
            call = TargetCall(plan, ctx, rows, {}, self)
            setup = getattr(plan.stage.node_type, "setup", None)
            self.target_state[plan.id] = (call_node(plan.stage, setup, call, image.detach())
                                          if setup else {})

    # --- the step ----------------------------------------------------------------------------

    def active_targets(self, ctx: EpochContext) -> list[TargetPlan]:
        return [plan for plan in self.program.targets if scheduled(plan.stage, ctx)]

    def forward(self, image: torch.Tensor, ctx: EpochContext):
        """image [1,3,H,W] in [0,1] -> (summed loss, [(target id, stats)], views per target).

        Three parts, so that a layer above (sweep/batched.py) can put the model forward of
        several programs together: views -> encode -> losses."""
        active, slots = self.views(image, ctx)
        if not active:
            return None, [], {}
        return self.losses(active, slots, self.encode(active, slots), ctx)

    def views(self, image: torch.Tensor, ctx: EpochContext) -> tuple[list[TargetPlan], dict]:
        """Every active target's views of the image, in slots (not yet resized to a model)."""
        active = self.active_targets(ctx)
        slots: dict[str, Any] = {}
        for plan in active:
            self._views(plan, image, ctx, slots)
        return active, slots

    def model_inputs(self, active: list[TargetPlan], slots: dict, model_id: str) -> list:
        """[(target, views [B,3,S,S])] that one model sees: read, resized to its input size,
        clamped; also kept in slots[(target id, model id)] for the losses."""
        size = self.models[model_id].input_size
        out = []
        for plan in active:
            if model_id in plan.models:
                x = imaging.materialize(slots[plan.view_slot])
                x = imaging.resize(x, (size, size), "bicubic", antialias=True).clamp(0, 1)
                slots[(plan.id, model_id)] = x
                out.append((plan, x))
        return out

    def encode(self, active: list[TargetPlan], slots: dict) -> dict:
        """One forward per model over every active target's views -> {(target, model): z}."""
        out = {}
        for op in self.program.encodes:
            model_id = op.models[0]
            inputs = self.model_inputs(active, slots, model_id)
            if not inputs:
                continue
            embeddings = self.models[model_id].encode_views(
                torch.cat([x for _, x in inputs])).float()
            offset = 0
            for plan, x in inputs:
                out[(plan.id, model_id)] = embeddings[offset:offset + x.shape[0]]
                offset += x.shape[0]
        return out

    def losses(self, active: list[TargetPlan], slots: dict, z: dict, ctx: EpochContext):
        """The active targets' losses from their embeddings -> (sum, records, views)."""
        live = {p.id for p in active}
        loss = torch.zeros((), device=self.device)
        records, views = [], {}
        for plan in self.program.targets:
            if plan.id not in live:
                continue
            first = plan.models[0]
            call = TargetCall(plan, ctx, self.embeddings.get(plan.id, []),
                              self.target_state.get(plan.id, {}), self,
                              {m: z[(plan.id, m)] for m in plan.models},
                              slots[(plan.id, first)].float())
            value, stats = call_node(plan.stage, plan.stage.node_type.loss, call)
            views[plan.id] = slots[(plan.id, first)]
            records.append((plan.id, stats))
            loss = loss + value.sum()
        return loss, records, views

    def _views(self, plan: TargetPlan, image, ctx: EpochContext, slots: dict) -> None:
        chain = [s for s in plan.chain if scheduled(s, ctx)]
        # without a random stage every view would be the same: one is enough
        batch = plan.stage.params["batch_size"] if any(s.random for s in chain) else 1
        slots[SOURCE_SLOT] = image.expand(batch, -1, -1, -1)
        for op in self.program.views:
            if op.owner == plan.id:
                slots[op.outputs[0]] = self._run(op, slots[op.inputs[0]], ctx)

    def views_of(self, plan: TargetPlan, image: torch.Tensor, ctx: EpochContext) -> torch.Tensor:
        """A target's views of `image` as its first model sees them (no gradient)."""
        with torch.no_grad():
            slots: dict[str, Any] = {}
            self._views(plan, image.clamp(0, 1), ctx, slots)
            model = self.models[plan.models[0]]
            x = imaging.materialize(slots[plan.view_slot])
            size = model.input_size
            return imaging.resize(x, (size, size), "bicubic", antialias=True).clamp(0, 1)

    def _run(self, op, x, ctx: EpochContext):
        """One apply or gather op on x (a tensor, or Warped views not read yet)."""
        stages = [s for s in op.stages if scheduled(s, ctx)]
        if op.kind == "gather" and stages and not isinstance(x, imaging.Warped):
            # a run of geometric stages: compose pixel maps, read pixels once
            # (a batch broadcast from one image keeps one copy as the source)
            x = imaging.Warped.of(x[:1] if x.stride(0) == 0 else x, batch_of(x))
        elif op.kind == "apply" and stages:
            x = imaging.materialize(x)
        for stage in stages:
            x = call_node(stage, stage.node_type.apply, x, StageParams(stage, ctx, batch_of(x)))
        return x

    # --- outside the step --------------------------------------------------------------------

    @torch.no_grad()
    def postprocess(self, image: torch.Tensor, ctx: EpochContext) -> torch.Tensor | None:
        """The post-processing chain on the image; None when no stage works this epoch."""
        stages = [op.stage for op in self.program.postproc if scheduled(op.stage, ctx)]
        if not stages:
            return None
        x = image
        for stage in stages:
            x = call_node(stage, stage.node_type.apply, x, StageParams(stage, ctx, 1))
        return x

    @torch.no_grad()
    def preview(self, plan: PreviewPlan, image: torch.Tensor, ctx: EpochContext) -> torch.Tensor:
        """The image at a preview's slot, one sample, no gradient (outside the training step)."""
        slots = {SOURCE_SLOT: image.clamp(0, 1)}
        for op in plan.ops:
            slots[op.outputs[0]] = self._run(op, slots[op.inputs[0]], ctx)
        return imaging.materialize(slots[plan.slot]).clamp(0, 1)

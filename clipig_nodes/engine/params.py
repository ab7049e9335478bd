"""Param values at run time: what node code reads while the engine runs.

Each epoch the engine builds an `EpochContext` (epoch, t, resolution, learning
rate, the run's random generators). Node code gets a `StageParams` for one
call on a batch of B samples and asks it for values:

- `p.value(name)`: one Python value for the whole call (int, float, list, str,
  bool or None). Use it for what sets a shape (crop size, kernel size) or
  picks a code path. A time expression is evaluated once per epoch.
- `p.tensor(name)`: a float tensor on the device, [B] for a scalar param or
  [B, n] for a vector. Where the expression calls a random function or reads
  `sim`, every sample gets its own value, computed on the device (no host
  sync); otherwise the one value is broadcast.
- `p.rand(...)`, `p.randn(...)`: draws from the run's device generator, so a
  seeded run repeats exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import torch

from ..expressions import Expression
from ..values import is_dynamic


@dataclass
class EpochContext:
    epoch: int
    t: float
    device: torch.device
    generator: torch.Generator           # device RNG: per-sample draws
    rng: random.Random                   # host RNG: random() in per-epoch expressions
    width: int = 0
    height: int = 0
    lr: float = 0.0
    lrs: float = 1.0
    # constant tensors made once per run and device, keyed by (stage id, param, batch)
    cache: dict = field(default_factory=dict)
    # while a step is captured as a CUDA graph: takes host values (engine/cuda_graph.py)
    recorder: Any = None

    @property
    def variables(self) -> dict[str, Any]:
        """The canonical expression variables (see clipig_nodes.expressions)."""
        return {"epoch": self.epoch, "t": self.t, "width": self.width, "height": self.height,
                "lr": self.lr, "lrs": self.lrs, "sim": 0.0}


def _cast(node_type, name: str, value: Any) -> Any:
    """Expression results take the declared element type (int params truncate, as CLIPig)."""
    param = node_type.param(name) if node_type is not None else None
    if param is None or value is None:
        return value
    kind = param.item if param.kind == "vector" else param.kind
    convert = {"int": int, "float": float}.get(kind)
    if convert is None:
        return value
    return [convert(v) for v in value] if isinstance(value, list) else convert(value)


def needs_tensor_evaluation(expr: Expression) -> bool:
    """Per-sample values: random draws, or the similarity of each sample."""
    return expr.uses_random or "sim" in expr.variables


class StageParams:
    """The params of one stage, evaluated for one call on a batch of `batch` samples."""

    def __init__(self, stage, ctx: EpochContext, batch: int, sim: torch.Tensor | None = None):
        self.stage = stage
        self.ctx = ctx
        self.B = batch
        self.sim = sim          # [B] similarity for feature/constraint expressions, if any
        self._values: dict[str, Any] = {}

    @property
    def device(self) -> torch.device:
        return self.ctx.device

    # --- host values ------------------------------------------------------------------------

    def value(self, name: str) -> Any:
        """One value for the whole call (expressions evaluated once, with the epoch's context)."""
        if name not in self._values:
            self._values[name] = self.host(name)
            if self.ctx.recorder is not None:      # a host value the captured step depends on
                self.ctx.recorder.depends(self.stage, name, self.B, self._values[name])
        return self._values[name]

    def host(self, name: str) -> Any:
        """The param's host value now, cast to its declared type."""
        return _cast(self.stage.node_type, name, self._evaluate_host(self.stage.params[name]))

    def _evaluate_host(self, raw: Any) -> Any:
        if isinstance(raw, Expression):
            variables = self.ctx.variables
            if self.sim is not None and "sim" in raw.variables:
                # a shape-setting param cannot differ per sample: use the batch mean
                variables["sim"] = float(self.sim.mean())
            return raw(variables, self.ctx.rng)
        if isinstance(raw, list):
            return [self._evaluate_host(v) for v in raw]
        return raw

    # --- device tensors ---------------------------------------------------------------------

    def tensor(self, name: str) -> torch.Tensor:
        """[B] (scalar param) or [B, n] (vector param), float32 on the device."""
        raw = self.stage.params[name]
        if raw is None:
            raise ValueError(f"{self.stage.id}: param '{name}' is not set")
        if not is_dynamic(raw):
            key = (self.stage.id, name, self.B)
            cached = self.ctx.cache.get(key)
            if cached is None:
                cached = self._broadcast(raw)
                self.ctx.cache[key] = cached
            return cached
        items = raw if isinstance(raw, list) else [raw]
        per_sample = [v for v in items if isinstance(v, Expression) and needs_tensor_evaluation(v)]
        if not per_sample:
            if self.ctx.recorder is not None:      # read from a buffer written before replay
                return self.ctx.recorder.dynamic(self, name)
            return self._broadcast(self.value(name))
        if self.ctx.recorder is not None:
            # the device evaluation takes the epoch's variables as numbers: they key the graph
            self.ctx.recorder.depends(self.stage, name + ":variables", self.B,
                                      tuple(sorted(self.ctx.variables.items())))
        from ..expressions.tensor import evaluate_batch
        columns = [evaluate_batch(v, self) if isinstance(v, Expression) and
                   needs_tensor_evaluation(v) else self._column(self._evaluate_host(v))
                   for v in items]
        stacked = torch.stack(columns, dim=-1)
        return stacked if isinstance(raw, list) else stacked[:, 0]

    def _column(self, value) -> torch.Tensor:
        return torch.full((self.B,), float(value), device=self.device)

    def _broadcast(self, value) -> torch.Tensor:
        base = torch.as_tensor(value, dtype=torch.float32).to(self.device, non_blocking=True)
        return base.expand(self.B, *base.shape)

    # --- randomness -------------------------------------------------------------------------

    def rand(self, *shape) -> torch.Tensor:
        return torch.rand(*shape, generator=self.ctx.generator, device=self.device)

    def randn(self, *shape) -> torch.Tensor:
        return torch.randn(*shape, generator=self.ctx.generator, device=self.device)

    def uniform(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """Per-sample uniform draws between tensors low and high (same shape)."""
        return low + (high - low) * self.rand(*low.shape)

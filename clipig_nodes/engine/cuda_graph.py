"""The training step captured as a CUDA graph, one per shape key, replayed every epoch.

A step of a small batch is a thousand small kernels; launching them costs more than running
them. Captured once and replayed, the whole step (views, every model's forward, losses,
backward, optimizer step) is one launch.

What a captured step may depend on:
- *key* values: everything the host decides (the resolution, which targets and stages are
  scheduled, batch sizes, every `p.value()` the node code reads: crop sizes, kernel sizes,
  modes). They are recorded while the step is captured; each epoch they are evaluated again
  on the host, and a different key means another graph (a small cache) or a new capture.
- *dynamic* values: `p.tensor()` of a param that changes over time (a weight `1 - t`), and the
  learning rate. They live in static device buffers that are written before each replay.
- random draws: the run's device generator is registered with the graph, so each replay
  draws new numbers, as an eager step would.
Anything else (a host sync, a tensor made from host data inside the step) would be baked
into the graph: `tests/test_step_capture.py` proves on the CPU that the step has neither.
"""

from __future__ import annotations

import sys
from collections import OrderedDict

import torch

from .executor import scheduled
from .params import EpochContext, StageParams

MAX_GRAPHS = 4          # shape keys kept (a resolution switch, a start/end boundary, ...)
MAX_MISSES = 12         # keys that keep changing (a random shape): stop capturing


class Recorder:
    """Collects, while a step runs, the host values it depends on and its dynamic params."""

    def __init__(self, device: torch.device, capacity: int = 4096):
        self.key: list = []             # (stage, name, batch, value)
        self.slots: list = []           # (stage, name, batch, offset, count)
        self.size = 0
        # made before the capture and never reallocated: the graph reads these addresses
        self.buffer = torch.zeros(capacity, device=device)

    def depends(self, stage, name: str, batch: int, value) -> None:
        self.key.append((stage, name, batch, _frozen(value)))

    def dynamic(self, p: StageParams, name: str) -> torch.Tensor:
        """A view into the buffer of dynamic values, shaped as p.tensor(name) would be."""
        value = p.host(name)
        count = len(value) if isinstance(value, list) else 1
        offset = self.size
        if offset + count > self.buffer.numel():
            raise RuntimeError(f"more than {self.buffer.numel()} dynamic param values")
        self.slots.append((p.stage, name, p.B, offset, count))
        self.size += count
        # nothing is written now (a copy from the host cannot be captured): replay() writes
        # the epoch's values into the buffer before every launch
        view = self.buffer[offset:offset + count]
        return view.expand(p.B, count) if isinstance(value, list) else view.expand(p.B)

    def still_valid(self, ctx: EpochContext) -> bool:
        """Whether every host value the captured step depends on is the same now."""
        for stage, name, batch, value in self.key:
            if name.endswith(":variables"):
                now = tuple(sorted(ctx.variables.items()))
            else:
                now = StageParams(stage, ctx, batch).host(name)
            if _frozen(now) != value:
                return False
        return True

    def values(self, ctx: EpochContext) -> list[float]:
        out = [0.0] * self.size
        for stage, name, batch, offset, count in self.slots:
            value = StageParams(stage, ctx, batch).host(name)
            out[offset:offset + count] = value if isinstance(value, list) else [value]
        return out


def _frozen(value):
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


class _Graph:
    def __init__(self, graph, recorder: Recorder, loss, records, views):
        self.graph, self.recorder = graph, recorder
        self.loss, self.records, self.views = loss, records, views
        self.host_values = torch.zeros(recorder.size, pin_memory=True) if recorder.size else None


class CapturedStep:
    """Trainer.train_step, captured per shape key on CUDA and replayed."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.graphs: OrderedDict = OrderedDict()
        self.pool = None
        self.misses = 0
        self.failed = False
        self.lr: torch.Tensor | None = None

    def invalidate(self) -> None:
        """New trainable tensors or a new optimizer: every graph refers to the old ones."""
        self.graphs.clear()
        self.lr = None

    def ready(self, ctx: EpochContext) -> bool:
        return not self.failed

    def schedule_key(self, ctx: EpochContext) -> tuple:
        program = self.trainer.program
        stages = [s for plan in program.targets
                  for s in (plan.stage, *plan.chain, *plan.features, *plan.constraints)]
        return (self.trainer._size, tuple(scheduled(s, ctx) for s in stages))

    def replay(self, ctx: EpochContext) -> torch.Tensor:
        trainer = self.trainer
        key = self.schedule_key(ctx)
        entry = self.graphs.get(key)
        if entry is not None and not entry.recorder.still_valid(ctx):
            entry = None
        if entry is None:
            return self._eager_then_capture(ctx, key)
        self.graphs.move_to_end(key)
        self._write_learnrate()
        if entry.host_values is not None:
            entry.host_values.copy_(torch.tensor(entry.recorder.values(ctx)))
            entry.recorder.buffer[:entry.recorder.size].copy_(entry.host_values, non_blocking=True)
        entry.graph.replay()
        # the graph's outputs are overwritten by the next replay: keep copies
        for target_id, stats in entry.records:
            trainer.stats.record(target_id, _copy(stats))
        trainer.last_views = {k: v.detach() for k, v in entry.views.items()}
        return entry.loss.detach().clone()

    def _write_learnrate(self) -> None:
        trainer = self.trainer
        if self.lr is None:
            self.lr = [torch.tensor(float(g["lr"]) if not torch.is_tensor(g["lr"]) else 0.0,
                                    device=trainer.device) for g in trainer.optimizer.param_groups]
            for group, lr in zip(trainer.optimizer.param_groups, self.lr):
                group["lr"] = lr
        for lr, factor in zip(self.lr, trainer._lr_factors):
            lr.fill_(trainer.learnrate * factor)

    def _eager_then_capture(self, ctx: EpochContext, key) -> torch.Tensor:
        """This epoch runs eagerly (it is also the warm-up); the next ones replay its capture."""
        trainer = self.trainer
        self._write_learnrate()
        stream = torch.cuda.Stream(trainer.device)
        stream.wait_stream(torch.cuda.current_stream(trainer.device))
        with torch.cuda.stream(stream):
            loss = trainer.train_step(ctx)
        torch.cuda.current_stream(trainer.device).wait_stream(stream)
        self.misses += 1
        if self.misses > MAX_MISSES:
            self._give_up("the step's shape changes every few epochs")
            return loss
        try:
            self._capture(ctx, key)
        except Exception as exc:       # noqa: BLE001 - an eager step is always possible
            self._give_up(f"{type(exc).__name__}: {exc}")
        return loss

    def _capture(self, ctx: EpochContext, key) -> None:
        trainer = self.trainer
        recorder = Recorder(trainer.device)
        capture_ctx = EpochContext(ctx.epoch, ctx.t, ctx.device, ctx.generator, ctx.rng,
                                   ctx.width, ctx.height, ctx.lr, ctx.lrs, ctx.cache, recorder)
        graph = torch.cuda.CUDAGraph()
        if hasattr(graph, "register_generator_state"):
            graph.register_generator_state(trainer.generator)
        if self.pool is None:
            self.pool = torch.cuda.graph_pool_handle()
        stats_before = {k: len(v) for k, v in trainer.stats.window.items()}
        with torch.cuda.graph(graph, pool=self.pool):
            loss = trainer.train_step(capture_ctx)
        # train_step recorded its (static) stats while capturing: take them back out
        records = []
        for target_id, window in trainer.stats.window.items():
            while len(window) > stats_before[target_id]:
                records.insert(0, (target_id, window.pop()))
        self.graphs[key] = _Graph(graph, recorder, loss, records, dict(trainer.last_views))
        while len(self.graphs) > MAX_GRAPHS:
            self.graphs.popitem(last=False)

    def _give_up(self, why: str) -> None:
        self.failed = True
        self.graphs.clear()
        print(f"clipig-nodes: CUDA graph capture is off for this run ({why}); "
              "the step runs eagerly", file=sys.stderr)


def _copy(stats: dict) -> dict:
    out = {}
    for name, value in stats.items():
        if isinstance(value, list):
            out[name] = [None if v is None else v.clone() for v in value]
        else:
            out[name] = value.clone()
    return out

"""Several jobs trained in lockstep on one device: one model forward serves all their views.

Each job keeps its own Trainer (its source state, optimizer, random generators, schedule and
expression values), so a job trained in a batch gets the same random draws, the same views
and the same image as when trained alone. What the batch shares is the expensive part: the
views of every job go through each model in ONE forward (and one backward), and the losses of
all jobs are summed so one backward pass serves them all (a job's loss does not depend on
another job's image, so each gradient is its own).

This is a layer over the engine's executor: its forward in three parts (views, encode,
losses), with the encode done once for all jobs.

Out of device memory in a step: the step is undone (random generators restored, nothing was
stepped yet) and the batch goes on as two halves, one after the other.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..engine.errors import is_out_of_memory, out_of_memory_error


class OutOfMemory(Exception):
    """A batched step ran out of device memory (the step left no trace)."""


class BatchedTrainers:
    """Trainers of several jobs (same model, device and epochs) stepped together."""

    def __init__(self, trainers: list):
        self.trainers = list(trainers)
        _share_models(self.trainers)

    @property
    def done(self) -> bool:
        return all(t.done for t in self.trainers)

    def step(self) -> list[torch.Tensor]:
        """One epoch of every job; the per-job losses. OutOfMemory leaves every job as it was."""
        saved = [_rng_state(t) for t in self.trainers]
        try:
            return self._step()
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            for trainer, state in zip(self.trainers, saved):
                _restore_rng(trainer, state)
                if trainer.optimizer is not None:
                    trainer.optimizer.zero_grad(set_to_none=True)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise OutOfMemory from None

    def _step(self) -> list[torch.Tensor]:
        trainers = self.trainers
        contexts = []
        for t in trainers:                       # what Trainer._step does before the device work
            ctx = t._context(t.epoch)
            if t.state is None:
                t._setup(ctx)
            t._follow_resolution(ctx)
            ctx.width, ctx.height = t._size
            t._set_learnrate(ctx)
            contexts.append(ctx)
        with trainers[0]._autocast():
            parts = [t.executor.views(t._render(ctx).clamp(0, 1), ctx)
                     for t, ctx in zip(trainers, contexts)]
            z = _shared_encode(trainers, parts)
            results = [t.executor.losses(*part, zj, ctx) if part[0] else (None, [], {})
                       for t, part, zj, ctx in zip(trainers, parts, z, contexts)]
        # as Trainer.forward_backward: a loss without gradient (no features or constraints
        # active) steps nothing and records nothing
        results = [r if r[0] is not None and r[0].requires_grad else (None, [], {}) for r in results]
        stepping = [(t, r) for t, r in zip(trainers, results) if r[0] is not None]
        for t, _ in stepping:
            t.optimizer.zero_grad(set_to_none=False)
        if stepping:
            total = stepping[0][1][0]
            for _, r in stepping[1:]:
                total = total + r[0]
            total.backward()
        losses = []
        for t, ctx, (loss, records, views) in zip(trainers, contexts, results):
            if loss is None:
                loss = torch.zeros((), device=t.device)
            else:
                t.last_views = {k: v.detach() for k, v in views.items()}
                for target_id, stats in records:
                    t.stats.record(target_id, stats)
                t.optimizer.step()
            t._postprocess(ctx)
            t.stats.record_loss(loss)
            t.epoch += 1
            losses.append(loss.detach())
        return losses


def train_batch(trainers: list, on_epoch: Callable[[int, int, int], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> int:
    """Train every trainer to its end, batched; on out-of-memory go on in halves.
    on_epoch(job position, epoch, epochs) after each job's epoch. Returns the largest batch
    that fitted (the next batches start there instead of running out of memory again)."""
    queue = [list(range(len(trainers)))]
    fitted = 0
    while queue:
        members = queue.pop(0)
        batch = BatchedTrainers([trainers[i] for i in members])
        while not batch.done:
            if should_stop is not None and should_stop():
                return fitted or len(members)
            try:
                batch.step()
            except OutOfMemory:
                if len(members) == 1:
                    t = trainers[members[0]]
                    raise out_of_memory_error(t.device.type, t.epoch) from None
                half = len(members) // 2
                queue[:0] = [members[:half], members[half:]]
                break
            if on_epoch is not None:
                for i in members:
                    on_epoch(i, trainers[i].epoch, trainers[i].epochs)
        else:
            fitted = max(fitted, len(members))
    return fitted


def _shared_encode(trainers, parts) -> list[dict]:
    """Executor.encode over every job at once: one forward per model for all their views."""
    groups: dict[int, tuple] = {}                 # id(model) -> (model, [(job, key, views)])
    for j, (t, (active, slots)) in enumerate(zip(trainers, parts)):
        executor = t.executor
        for op in executor.program.encodes:
            model_id = op.models[0]
            model = executor.models[model_id]
            for plan, x in executor.model_inputs(active, slots, model_id):
                groups.setdefault(id(model), (model, []))[1].append((j, (plan.id, model_id), x))
    z: list[dict] = [{} for _ in trainers]
    for model, items in groups.values():
        embeddings = model.encode_views(torch.cat([x for _, _, x in items])).float()
        offset = 0
        for j, key, x in items:
            z[j][key] = embeddings[offset:offset + x.shape[0]]
            offset += x.shape[0]
    return z


# --- helpers ----------------------------------------------------------------------------------

def _share_models(trainers) -> None:
    """Jobs whose model nodes have the same params use one loaded model (one forward for all)."""
    shared: dict = {}
    for t in trainers:
        for model_id, stage in t.program.models.items():
            model = t.models[model_id]
            key = ("implicit", id(model)) if stage is None else \
                (stage.type, repr(sorted(stage.params.items())))
            t.models[model_id] = shared.setdefault(key, model)


def _rng_state(trainer):
    return trainer.generator.get_state(), trainer.rng.getstate()


def _restore_rng(trainer, state) -> None:
    trainer.generator.set_state(state[0])
    trainer.rng.setstate(state[1])

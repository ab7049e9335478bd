"""The training step can be captured as a CUDA graph: proven on the CPU.

A captured step must not wait for the device (a host sync) nor build a tensor from host data
(which the graph would keep as a constant). Each template's step (views, forward, losses,
backward) runs here under a dispatch mode that sees every aten op, with the recorder that the
CUDA capture uses: host values may only enter through its buffer, and nothing may sync. The
optimizer step is torch's own capturable implementation (CUDA only). The CUDA tests (marker
`cuda`) capture and replay the whole step for real.
"""

from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from clipig_nodes.engine import RunOptions, Trainer
from clipig_nodes.engine.cuda_graph import Recorder
from clipig_nodes.engine.params import EpochContext
from clipig_nodes.graph.compile import compile_graph
from clipig_nodes.graph.fileformat import load_graph

from .tiny_openclip import with_tiny_models

GRAPHS = sorted((Path(__file__).resolve().parent.parent / "graphs").glob("*.graph.yaml"))

# ops that wait for the device, or copy host data into a tensor
FORBIDDEN = {"_local_scalar_dense", "item", "nonzero", "masked_select", "unique", "_unique2",
             "is_nonzero", "equal", "lift_fresh", "lift_fresh_copy", "_assert_async"}


class OpAudit(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.found = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in FORBIDDEN:
            self.found.append(name)
        return func(*args, **(kwargs or {}))


def recorded(ctx: EpochContext, recorder: Recorder) -> EpochContext:
    return EpochContext(ctx.epoch, ctx.t, ctx.device, ctx.generator, ctx.rng, ctx.width,
                        ctx.height, ctx.lr, ctx.lrs, ctx.cache, recorder)


def warmed_up(path, tiny_clip, epochs=10, folder=None):
    # model nodes get tiny random models of their library (no weights download in tests)
    graph = load_graph(with_tiny_models(path, folder) if folder else path)
    trainer = Trainer(compile_graph(graph), RunOptions(model=tiny_clip, device="cpu", seed=0,
                                                       epochs=epochs, base_dir=path.parent))
    trainer.step()                      # the eager warm-up that precedes every capture
    ctx = trainer._context(trainer.epoch)
    trainer._follow_resolution(ctx)
    ctx.width, ctx.height = trainer._size
    trainer._set_learnrate(ctx)
    return trainer, ctx


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
def test_the_step_has_no_host_sync_and_no_host_data(path, tiny_clip, tmp_path):
    trainer, ctx = warmed_up(path, tiny_clip, folder=tmp_path)
    recorder = Recorder(torch.device("cpu"))
    with OpAudit() as audit:
        loss = trainer.forward_backward(recorded(ctx, recorder))
    assert audit.found == []
    assert loss is None or torch.isfinite(loss)


def test_dynamic_values_come_from_the_buffer_and_shapes_key_the_graph(tiny_clip):
    strawberries = next(p for p in GRAPHS if p.name == "strawberries.graph.yaml")
    trainer, ctx = warmed_up(strawberries, tiny_clip)
    recorder = Recorder(torch.device("cpu"))
    trainer.forward_backward(recorded(ctx, recorder))
    # the crop size and the kernel size set shapes: they key the graph
    keyed = {(stage.id, name) for stage, name, _, _ in recorder.key}
    assert ("center_crop", "size") in keyed and ("blur_constraint", "kernel_size") in keyed
    later = trainer._context(ctx.epoch + 3)
    later.width, later.height = trainer._size
    assert recorder.still_valid(later)
    # a dynamic value is evaluated for the epoch it is replayed in
    assert len(recorder.values(later)) == recorder.size


def test_a_time_dependent_weight_is_a_dynamic_value(tiny_clip):
    from .graph_builders import minimal
    g = minimal()
    g.set_param("pixels", "resolution", [32, 32])
    g.set_param("train", "epochs", 11)
    g.set_param("text_feature", "weight", "1 - t")
    trainer = Trainer(compile_graph(g), RunOptions(model=tiny_clip, device="cpu", seed=0))
    trainer.step()
    ctx = trainer._context(1)
    ctx.width, ctx.height = trainer._size
    recorder = Recorder(torch.device("cpu"))
    trainer.forward_backward(recorded(ctx, recorder))
    slots = {(stage.id, name): offset for stage, name, _, offset, _ in recorder.slots}
    offset = slots[("text_feature", "weight")]
    at_half = trainer._context(5)
    assert recorder.values(at_half)[offset] == pytest.approx(0.5)
    assert recorder.still_valid(at_half)     # a new weight needs no new graph
    # a resolution switch does: the source's size is part of the key
    assert ("text_feature", "weight") not in {(s.id, n) for s, n, _, _ in recorder.key}

"""The training step captured as a CUDA graph and replayed (needs a GPU: pytest -m cuda)."""

from pathlib import Path

import pytest
import torch

from clipig_nodes.engine import RunOptions, Trainer
from clipig_nodes.graph.compile import compile_graph
from clipig_nodes.graph.fileformat import load_graph

from .graph_builders import minimal

pytestmark = pytest.mark.cuda
GRAPHS = Path(__file__).resolve().parent.parent / "graphs"


def trained(graph, tiny_clip, mode, epochs=8):
    trainer = Trainer(compile_graph(graph), RunOptions(model=tiny_clip, device="cuda", seed=3,
                                                       epochs=epochs, cuda_graph=mode,
                                                       base_dir=GRAPHS))
    while not trainer.done:
        trainer.step()
    return trainer


def strawberries():
    g = load_graph(GRAPHS / "strawberries.graph.yaml")
    g.set_param("pixels", "resolution", [128, 128])
    return g


def test_the_step_is_captured_and_replayed(tiny_clip):
    trainer = trained(strawberries(), tiny_clip, "auto")
    assert not trainer.capture.failed and len(trainer.capture.graphs) == 1
    assert trainer.capture.misses == 1          # one eager warm-up, then replays


def test_captured_and_eager_steps_make_the_same_image(tiny_clip):
    captured = trained(strawberries(), tiny_clip, "auto").image()
    eager = trained(strawberries(), tiny_clip, "off").image()
    assert torch.allclose(captured, eager, atol=1e-4)


def test_same_seed_same_image_with_capture(tiny_clip):
    a = trained(strawberries(), tiny_clip, "auto").image()
    b = trained(strawberries(), tiny_clip, "auto").image()
    assert torch.equal(a, b)


def test_time_dependent_values_are_read_at_each_replay(tiny_clip):
    g = minimal()
    g.set_param("pixels", "resolution", [64, 64])
    g.set_param("text_feature", "weight", "1 - t")
    g.set_param("train", "learnrate_scale", "1 - .9 * t")
    captured = trained(g, tiny_clip, "auto", epochs=10)
    eager = trained(g, tiny_clip, "off", epochs=10)
    assert len(captured.capture.graphs) == 1
    assert torch.allclose(captured.image(), eager.image(), atol=1e-4)


def test_a_resolution_switch_captures_another_graph(tiny_clip):
    g = load_graph(GRAPHS / "isometric-city-map-resolution-switch.graph.yaml")
    trainer = trained(g, tiny_clip, "auto", epochs=12)
    assert not trainer.capture.failed and len(trainer.capture.graphs) >= 2

"""The node contract: a new kind of node needs no change in the engine.

A user folder (CLIPIG_NODES_PATH) declares a pixel source and a constraint the engine has never
heard of; a graph made of them trains, in this process and through the `run` command. A type
that lacks a method of its category's contract is refused when its module loads.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from clipig_nodes.engine import RunOptions, Trainer
from clipig_nodes.graph.compile import compile_graph
from clipig_nodes.graph.fileformat import save_graph
from clipig_nodes.graph.model import Graph
from clipig_nodes.nodebase import CONTRACT
from clipig_nodes.registry import BUILTIN_NODES_DIR, RegistryError, discover

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = '''
from clipig_nodes.nodebase import Constraint, Source
from clipig_nodes.registry import T, Float, Vector


class GradientSource(Source):
    """An image that is a left-to-right gradient per channel: two numbers a channel."""

    name = "gradient_source"
    params = (Vector("resolution", 2, [32, 32], "Size [width, height].", groups={T}, item="int",
                     minimum=1, maximum=4096),)

    @staticmethod
    def init(p, generator, base_dir=None):
        import torch
        return {"left": torch.full((1, 3, 1, 1), 0.3), "right": torch.full((1, 3, 1, 1), 0.6)}

    @staticmethod
    def render(state, p):
        import torch
        width, height = p.value("resolution")
        ramp = torch.linspace(0, 1, width, device=state["left"].device).view(1, 1, 1, width)
        image = state["left"] + (state["right"] - state["left"]) * ramp
        return image.expand(1, 3, height, width)

    @staticmethod
    def resample(state, size, p):
        return state

    @staticmethod
    def write(state, image, p):
        state["left"].copy_(image[..., :1].mean(dim=2, keepdim=True))
        state["right"].copy_(image[..., -1:].mean(dim=2, keepdim=True))


class RedConstraint(Constraint):
    """Pulls the mean of the red channel toward a value."""

    name = "red_constraint"
    params = (Float("value", 1.0, "Wanted mean red."),)

    @staticmethod
    def loss(views, p, ell):
        import torch
        red = views[:, 0].flatten(1).mean(dim=1)
        return ell(red[:, None], p.tensor("value")[:, None])
'''


def plugin_graph() -> Graph:
    g = Graph("plugin")
    g.add_node("gradient_source", "source")
    g.add_node("red_constraint", "red", params={"value": 0.9, "weight": 10})
    g.add_node("target", "target")
    g.add_node("train", "train", params={"epochs": 40, "learnrate": 3.0})
    g.connect("source", "image", "target", "image")
    g.connect("red", "constraint", "target", "constraints")
    g.connect("target", "target", "train", "targets")
    return g


@pytest.fixture
def plugin_dir(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "gradient.py").write_text(PLUGIN)
    return folder


def test_plugin_source_and_constraint_train_in_process(plugin_dir, tiny_clip):
    registry = discover([BUILTIN_NODES_DIR, plugin_dir])
    program = compile_graph(plugin_graph(), registry)
    assert program.source.node_type is registry["gradient_source"]
    trainer = Trainer(program, RunOptions(model=tiny_clip, device="cpu", seed=0))
    trainer.step()
    red_before = trainer.image()[0, 0].mean().item()
    while not trainer.done:
        trainer.step()
    image = trainer.image()
    assert image.shape == (1, 3, 32, 32)
    assert red_before < 0.5 < image[0, 0].mean().item()       # the constraint pulled red up
    # the other channels had no reason to move
    assert abs(image[0, 1].mean().item() - 0.45) < 0.02
    assert set(trainer.state) == {"left", "right"}


def test_plugin_graph_runs_from_the_command_line(plugin_dir, tiny_clip, tmp_path):
    save_graph(plugin_graph(), tmp_path / "plugin.graph.yaml")
    env = dict(os.environ, CLIPIG_NODES_PATH=str(plugin_dir))
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "run",
                           str(tmp_path / "plugin.graph.yaml"), "-o", str(tmp_path / "out") + "/",
                           "--model", tiny_clip, "--device", "cpu", "--epochs", "3"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "plugin.png").is_file()


@pytest.mark.parametrize("category,base", [("transform", "Transform"), ("source", "Source"),
                                           ("constraint", "Constraint"), ("feature", "Feature")])
def test_a_missing_contract_method_is_refused_at_load(tmp_path, category, base):
    (tmp_path / "broken.py").write_text(textwrap.dedent(f'''
        from clipig_nodes.nodebase import {base}

        class Broken({base}):
            """Declares everything but its code."""
            name = "broken_{category}"
        '''))
    with pytest.raises(RegistryError) as info:
        discover([BUILTIN_NODES_DIR, tmp_path])
    message = str(info.value)
    assert "broken.py" in message
    assert f"a {category} must define {CONTRACT[category][0]}()" in message


def test_an_error_in_node_code_names_the_node(plugin_dir, tiny_clip):
    from clipig_nodes.engine import EngineError
    (plugin_dir / "gradient.py").write_text(PLUGIN.replace(
        "red = views[:, 0].flatten(1).mean(dim=1)", "red = 1 / 0"))
    registry = discover([BUILTIN_NODES_DIR, plugin_dir])
    trainer = Trainer(compile_graph(plugin_graph(), registry),
                      RunOptions(model=tiny_clip, device="cpu", seed=0))
    with pytest.raises(EngineError, match=r"node 'red' \(type red_constraint\): "
                                          r"ZeroDivisionError: division by zero at gradient.py:\d+"):
        trainer.step()


def test_every_builtin_type_keeps_the_contract(registry):
    for node_type in registry:
        for method in CONTRACT[node_type.category]:
            assert callable(getattr(node_type, method, None)), (node_type.name, method)
    assert torch.is_tensor(torch.zeros(1))

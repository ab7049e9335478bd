"""Named graph inputs: the model, the file format (v3), validation, undoable commands,
and setting values checked against the bound param's declaration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clipig_nodes.graph import fileformat as ff
from clipig_nodes.graph.commands import (AddInput, History, RemoveInput, RemoveNodes, Rename,
                                         RenameInput, SetInputDescription)
from clipig_nodes.graph.inputs import input_infos, parse_input, with_inputs
from clipig_nodes.graph.model import GraphError, Input
from clipig_nodes.graph.validate import validate
from clipig_nodes.problems import ProblemsError

from .graph_builders import minimal

ROOT = Path(__file__).resolve().parent.parent
HEADER = "format: clipig-nodes-graph\nversion: 3\n"


def with_prompt_and_seed():
    g = minimal()
    g.add_input("prompt", "text_feature", "text", "What to paint")
    g.add_input("seed", "train", "seed")
    return g


def problems_of(text):
    with pytest.raises(ProblemsError) as info:
        ff.loads_graph(text, "t.graph.yaml")
    return info.value.problems


# --- model -----------------------------------------------------------------------------------------

def test_add_remove_rename_keep_order():
    g = with_prompt_and_seed()
    g.add_input("size", "pixels", "resolution", index=1)
    assert list(g.inputs) == ["prompt", "size", "seed"]
    assert g.inputs["size"] == Input("size", "pixels", "resolution")
    g.rename_input("size", "resolution")
    assert list(g.inputs) == ["prompt", "resolution", "seed"]
    assert g.inputs["resolution"].name == "resolution"
    assert g.remove_input("resolution") == (1, Input("resolution", "pixels", "resolution"))
    assert g.input_for("train", "seed").name == "seed" and g.input_for("train", "epochs") is None


@pytest.mark.parametrize("action, message", [
    (lambda g: g.add_input("prompt", "train", "epochs"), "already exists"),
    (lambda g: g.add_input("text2", "text_feature", "text"), "already the input 'prompt'"),
    (lambda g: g.add_input("bad-name", "train", "epochs"), "not a valid input name"),
    (lambda g: g.add_input("9lives", "train", "epochs"), "not a valid input name"),
    (lambda g: g.rename_input("prompt", "seed"), "already exists"),
    (lambda g: g.rename_input("nope", "x"), "no input 'nope'"),
    (lambda g: g.remove_input("nope"), "no input 'nope'"),
])
def test_model_refuses_bad_edits(action, message):
    g = with_prompt_and_seed()
    before = g.copy()
    with pytest.raises(GraphError, match=message):
        action(g)
    assert g == before


def test_node_rename_moves_the_binding_and_inputs_count_for_equality():
    g = with_prompt_and_seed()
    g.rename("text_feature", "text")
    assert g.inputs["prompt"] == Input("prompt", "text", "text", "What to paint")
    other = minimal()
    other.rename("text_feature", "text")
    assert g != other


# --- file format -----------------------------------------------------------------------------------

def test_round_trip_short_and_long_forms():
    g = with_prompt_and_seed()
    text = ff.dumps_graph(g)
    assert ("inputs:\n  prompt:\n    param: text_feature.text\n    description: What to paint\n"
            "  seed: train.seed\n") in text
    top = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "-"))]
    assert top == ["format", "version", "inputs", "nodes", "links"]
    assert ff.loads_graph(text) == g
    assert list(ff.loads_graph(text).inputs) == ["prompt", "seed"]


def test_inputs_load_before_their_nodes_are_checked():
    g = ff.loads_graph(HEADER + "inputs: {prompt: {param: ghost.text}}\nnodes: {}\n")
    assert g.inputs["prompt"] == Input("prompt", "ghost", "text")


@pytest.mark.parametrize("section, path, fragment", [
    ("inputs: [prompt]", "inputs", "mapping of name"),
    ("inputs: {prompt: text}", "inputs.prompt", "'node.param'"),
    ("inputs: {prompt: 5}", "inputs.prompt", "'node.param'"),
    ("inputs: {prompt: {param: a.b, default: 3}}", "inputs.prompt.default", "unknown key"),
    ("inputs: {prompt: {param: a.b, description: [x]}}", "inputs.prompt.description", "text"),
    ("inputs: {bad-name: a.b}", "inputs.bad-name", "not a valid input name"),
    ("inputs: {x: a.b, y: a.b}", "inputs.y", "already the input 'x'"),
])
def test_structural_errors_name_the_input_and_line(section, path, fragment):
    problems = problems_of(HEADER + section + "\n")
    hits = [p for p in problems if p.path == path]
    assert hits and fragment in hits[0].message, [str(p) for p in problems]
    assert hits[0].line == 3 and hits[0].source == "t.graph.yaml"


def test_validation_names_the_input_with_an_unknown_node_or_param(registry):
    g = with_prompt_and_seed()
    assert not [p for p in validate(g, registry) if p.is_error]
    g.add_input("ghost", "text_featur", "text")
    g.add_input("typo", "train", "epoch")
    errors = {p.path: p.message for p in validate(g, registry) if p.is_error}
    assert set(errors) == {"inputs.ghost", "inputs.typo"}
    assert errors["inputs.ghost"].startswith("input 'ghost' is bound to text_featur.text: ")
    assert "text_feature" in errors["inputs.ghost"]               # the suggestion
    assert "'epochs'" in errors["inputs.typo"] and "train" in errors["inputs.typo"]
    # values for both: each bound input is reported once, under its own name
    with pytest.raises(ProblemsError) as info:
        with_inputs(g, {"ghost": "x", "typo": "3"}, registry)
    assert sorted(p.path for p in info.value.problems) == ["inputs.ghost", "inputs.typo"]


# --- commands --------------------------------------------------------------------------------------

def test_input_commands_undo_and_redo():
    g = minimal()
    h = History(g)
    h.execute(AddInput("prompt", "text_feature", "text"))
    h.execute(AddInput("seed", "train", "seed"))
    h.execute(RenameInput("prompt", "text"))
    h.execute(SetInputDescription("text", "The "))
    h.execute(SetInputDescription("text", "The main text"))     # typing merges
    h.execute(RemoveInput("seed"))
    assert list(g.inputs) == ["text"] and g.inputs["text"].description == "The main text"
    h.undo()
    assert list(g.inputs) == ["text", "seed"]
    h.undo()
    assert g.inputs["text"].description == ""
    h.undo()
    assert list(g.inputs) == ["prompt", "seed"]
    h.undo(), h.undo()
    assert g.inputs == {} and not h.dirty
    for _ in range(5):
        h.redo()
    assert list(g.inputs) == ["text"]
    with pytest.raises(GraphError):
        h.execute(AddInput("x", "no_node", "text"))
    assert list(g.inputs) == ["text"]


def test_deleting_a_node_takes_its_inputs_and_undo_brings_them_back():
    g = with_prompt_and_seed()
    g.add_input("size", "pixels", "resolution")
    h = History(g)
    h.execute(RemoveNodes(["text_feature", "pixels"]))
    assert list(g.inputs) == ["seed"]
    h.undo()
    assert list(g.inputs) == ["prompt", "seed", "size"] and g == h.graph
    h.execute(Rename("train", "run"))
    assert g.inputs["seed"].node == "run"
    h.undo()
    assert g.inputs["seed"].node == "train"


# --- values ----------------------------------------------------------------------------------------

def test_values_are_checked_against_the_param(registry):
    g = with_prompt_and_seed()
    g.add_input("size", "pixels", "resolution")
    g.add_input("epochs", "train", "epochs")
    assert parse_input(g, "prompt", "a lighthouse", registry) == "a lighthouse"
    assert parse_input(g, "size", "768 512", registry) == [768, 512]
    assert parse_input(g, "seed", "7", registry) == 7
    out = with_inputs(g, {"prompt": "a lighthouse", "size": "768 512", "seed": 3}, registry)
    assert out.nodes["text_feature"].params["text"] == "a lighthouse"
    assert out.nodes["pixels"].params["resolution"] == [768, 512]
    assert out.nodes["train"].params["seed"] == 3
    assert g.nodes["text_feature"].params["text"] == "a lighthouse in a storm"      # a copy


def test_bad_values_name_the_input(registry):
    g = with_prompt_and_seed()
    g.add_input("size", "pixels", "resolution")
    with pytest.raises(ProblemsError) as info:
        with_inputs(g, {"size": "768 512 3 1", "seed": "-1", "promt": "x"}, registry)
    messages = sorted(str(p) for p in info.value.problems)
    assert len(messages) == 3
    assert any("input 'size'" in m and "pixels.resolution" in m and "expected" in m for m in messages)
    assert any("input 'seed'" in m and "out of range" in m for m in messages)
    assert any("unknown input 'promt'" in m and "prompt" in m for m in messages)


def test_input_infos_describe_kind_range_and_value(registry):
    g = with_prompt_and_seed()
    infos = {i.name: i for i in input_infos(g, registry)}
    assert infos["prompt"].value == "a lighthouse in a storm"
    assert infos["prompt"].describe().startswith("prompt (str; text_feature.text) = ")
    assert infos["prompt"].describe().endswith(": What to paint")
    assert infos["seed"].param.kind == "int" and ">= 0" in infos["seed"].describe()


# --- templates and `run --set` ---------------------------------------------------------------------

TEMPLATES = sorted((Path(__file__).resolve().parent.parent / "graphs").glob("*.graph.yaml"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name.split(".")[0])
def test_every_template_exposes_prompt_and_seed(path, registry):
    g = ff.load_graph(path)
    assert {"prompt", "seed"} <= set(g.inputs)
    assert g.inputs["seed"].target.endswith(".seed")
    assert registry[g.nodes[g.inputs["prompt"].node].type].name == "text_feature"
    assert not validate(g, registry, check_files=True, base_dir=path.parent)
    assert all(i.input.description for i in input_infos(g, registry))


def cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_run_set_changes_the_graph_that_is_trained(tiny_clip, tmp_path):
    graph_path = tmp_path / "s.graph.yaml"
    g = with_prompt_and_seed()
    g.add_input("size", "pixels", "resolution")
    ff.save_graph(g, graph_path)
    out_dir = tmp_path / "out"
    out = cli("run", graph_path, "-o", f"{out_dir}/", "--model", tiny_clip, "--device", "cpu",
              "--epochs", "2", "-v", "0", "--set", "prompt=a red lighthouse", "--set", "size=48 32",
              "--set", "seed=5")
    assert out.returncode == 0, out.stderr
    from PIL import Image
    image = Image.open(out_dir / "s.png")
    assert image.size == (48, 32)
    trained = ff.load_graph(out_dir / "s.graph.yaml")       # the sidecar next to the image
    assert trained.nodes["text_feature"].params["text"] == "a red lighthouse"
    assert trained.nodes["train"].params["seed"] == 5


@pytest.mark.parametrize("assignment, fragment", [
    ("size=48 32 7 1", "input 'size'"),
    ("seed=-3", "input 'seed'"),
    ("promt=x", "unknown input 'promt'"),
    ("prompt", "NAME=VALUE"),
])
def test_run_set_bad_values_fail_before_training(tmp_path, assignment, fragment):
    graph_path = tmp_path / "s.graph.yaml"
    g = with_prompt_and_seed()
    g.add_input("size", "pixels", "resolution")
    ff.save_graph(g, graph_path)
    out = cli("run", graph_path, "-o", f"{tmp_path}/", "--set", assignment, "--model", "no-such-model")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert fragment in out.stderr and "not run" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.graph.yaml"]

"""What validates also runs: node-level checks, CLI ranges and declared maxima end in a clear
message naming the node (or the option), never in an internal error."""

import pytest

from clipig_nodes.graph.validate import validate
from clipig_nodes.registry import default_registry

from .graph_builders import strawberries
from .test_plugins import cli, write_graph


def errors(graph):
    return [(p.node, p.param, p.message) for p in validate(graph) if p.is_error]


def test_every_size_like_param_declares_a_maximum():
    # int params and int vectors are counts and sizes: each has a bound a GPU could hold
    unbounded = [f"{t.name}.{p.name}" for t in default_registry() for p in t.param_list
                 if (p.kind == "int" or (p.kind == "vector" and p.item == "int"))
                 and p.maximum is None]
    assert unbounded == []


@pytest.mark.parametrize("node,param,value,maximum", [
    ("blur_constraint", "kernel_size", [1000000, 1000000], "1023"),
    ("random_sampler", "batch_size", 100000, "4096"),
    ("train", "epochs", 10**12, "10000000"),
])
def test_sizes_above_the_maximum_are_refused(node, param, value, maximum):
    g = strawberries()
    g.set_param(node, param, value)
    [(where, name, message)] = errors(g)
    assert (where, name) == (node, param)
    assert message.endswith(f"must be <= {maximum}")


@pytest.mark.parametrize("type_name,params", [
    ("blur", "{kernel_size: 5000}"), ("edge", "{kernel_size: [3, 2000]}"),
    ("pad", "{size: 16384}"), ("rnoise", "{std: 0.1, resolution: 20000}"),
    ("resize", "{size: 20000}"), ("border", "{size: 99999}"), ("repeat", "{count: 100}"),
    ("quantize", "{step: 1000}"), ("crop", "{rect: 0 0 99999 10}"),
])
def test_transform_sizes_are_bounded(tmp_path, type_name, params):
    result = cli("validate", write_graph(tmp_path, type_name, params))
    assert result.returncode == 1
    assert "node 't1' param '" in result.stderr + result.stdout
    assert "is out of range: must be <=" in result.stderr + result.stdout


def test_empty_crop_is_refused_by_validation(tmp_path):
    result = cli("validate", write_graph(tmp_path, "crop", "{rect: 0 0 0 0}"))
    assert result.returncode == 1
    assert ("node 't1' param 'rect': the width is 0: it must be above 0 (a fraction below 1 of "
            "the size, or pixels)") in result.stdout + result.stderr


@pytest.mark.parametrize("type_name,params,message", [
    ("random_crop", "{size: [64, 48]}", "node 't1' (type random_crop): the crop [64, 48] (width, "
     "height) is larger than the image [32, 32]; use center_crop or pad to make it larger"),
    ("crop", "{rect: 0 0 0.01 5}", "node 't1' (type crop): the rect [0.0, 0.0, 0.01, 5.0] gives "
     "an empty image (0 x 5 pixels of 32 x 32); values below 1 are fractions of the size"),
])
def test_crop_that_the_image_cannot_give_names_the_node(tmp_path, tiny_clip, type_name, params,
                                                        message):
    graph = write_graph(tmp_path, type_name, params)
    assert cli("validate", graph).returncode == 0
    result = cli("run", graph, "-o", f"{tmp_path}/out/", "--model", tiny_clip, "--device", "cpu",
                 "-v", "0")
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"{graph}: {message}")
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("option,value", [
    ("--seed", str(2**70)), ("--seed", "2**70"), ("--seed", "-1"), ("--seed", "9" * 5000),
    ("--epochs", "-1"), ("--epochs", str(10**12)),
])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_seed_and_epochs_out_of_range_are_usage_errors(tmp_path, option, value, command):
    result = cli(command, write_graph(tmp_path), option, value, "-o", f"{tmp_path}/out/")
    assert result.returncode == 2
    assert f"argument {option}: expected a whole number from 0 to " in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_largest_seed_runs(tmp_path, tiny_clip):
    result = cli("run", write_graph(tmp_path), "--seed", str(2**63 - 1), "--epochs", "1",
                 "-o", f"{tmp_path}/out/", "--model", tiny_clip, "--device", "cpu", "-v", "0")
    assert result.returncode == 0, result.stderr


def test_legacy_target_without_features_runs(tmp_path, tiny_clip):
    # CLIPig crashes here ("element 0 of tensors does not require grad"); such a target adds
    # no loss: the validation warns, and the run trains what the other targets ask
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 2\nresolution: 32\ntargets:\n- batch_size: 2\n  transforms:\n"
                      "  - random_shift: -1 1\n")
    check = cli("validate", config)
    assert check.returncode == 0 and "no features and no constraints" in check.stdout + check.stderr
    result = cli("run", config, "-o", f"{tmp_path}/out/", "--model", tiny_clip, "--device", "cpu",
                 "-v", "0")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "c.png").exists()


def test_seed_out_of_range_from_python_is_an_engine_error(tiny_clip):
    from clipig_nodes.engine import EngineError, RunOptions, Trainer
    from clipig_nodes.graph.compile import compile_graph

    from .graph_builders import minimal

    with pytest.raises(EngineError, match=r"seed 1180591620717411303424 is out of range: use 0 to "
                                          r"2\*\*63 - 1"):
        Trainer(compile_graph(minimal()), RunOptions(seed=2**70, model=tiny_clip, device="cpu"))


@pytest.mark.parametrize("args,option", [
    (("bench", "--resolution", "100000"), "--resolution"), (("bench", "--batch", "0"), "--batch"),
    (("bench", "--epochs", str(10**12)), "--epochs"),
    (("gui", "--run-epochs", "-5"), "--run-epochs"),
])
def test_other_size_options_are_bounded(args, option):
    result = cli(*args)
    assert result.returncode == 2
    assert f"argument {option}: expected a whole number from " in result.stderr

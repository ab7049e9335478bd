"""The command line as a user runs it: subprocesses, exit codes, files on disk."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from clipig_nodes.graph.fileformat import load_graph, save_graph

from .graph_builders import strawberries
from .legacy_examples import STRAWBERRIES as STRAWBERRIES_YAML

ROOT = Path(__file__).resolve().parent.parent
def cli(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=60)


def test_help_lists_the_commands():
    out = cli("--help")
    assert out.returncode == 0
    for command in ("gui", "run", "validate", "convert", "nodes", "bench"):
        assert command in out.stdout


def test_no_command_opens_the_editor_and_says_when_there_is_no_display():
    import os
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    out = subprocess.run([sys.executable, str(ROOT / "main.py")], capture_output=True,
                         text=True, cwd=ROOT, timeout=60, env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "display" in out.stderr.lower()


def test_validate_graph_file(tmp_path):
    path = tmp_path / "s.graph.yaml"
    save_graph(strawberries(), path)
    out = cli("validate", path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{path}: ok"


def test_validate_reports_every_problem_and_fails(tmp_path):
    g = strawberries()
    g.set_param("train", "epochs", -3)
    g.set_param("random_sampler", "select", "first")
    g.set_param("pixels", "init_image", "missing.png")
    path = tmp_path / "bad.graph.yaml"
    save_graph(g, path)
    out = cli("validate", path)
    assert out.returncode == 1
    assert "node 'train' param 'epochs': -3 is out of range: must be >= 0" in out.stderr
    assert "node 'random_sampler' param 'select': unknown choice 'first'" in out.stderr
    assert f"node 'pixels' param 'init_image': file not found: {tmp_path / 'missing.png'}" in out.stderr
    assert f"{path}: invalid (3 errors)" in out.stderr
    assert "Traceback" not in out.stderr
    assert cli("validate", "--no-files", path).stderr.count("error") >= 1


def test_validate_malformed_and_missing_files(tmp_path):
    broken = tmp_path / "broken.graph.yaml"
    broken.write_text("format: clipig-nodes-graph\nversion: 2\nnodes: [1, 2\n")
    missing = tmp_path / "nope.yaml"
    out = cli("validate", broken, missing)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert f"{broken}:4: invalid YAML" in out.stderr
    assert f"{missing}: no such file" in out.stderr


def test_validate_legacy_and_convert_round_trip(tmp_path):
    legacy = tmp_path / "strawberries.yaml"
    legacy.write_text(STRAWBERRIES_YAML)
    assert cli("validate", legacy).returncode == 0
    graph_path = tmp_path / "strawberries.graph.yaml"
    out = cli("convert", legacy, graph_path)
    assert out.returncode == 0, out.stderr
    graph = load_graph(graph_path)
    assert graph.nodes["random_sampler"].params["batch_size"] == 5
    back = tmp_path / "back.yaml"
    out = cli("convert", graph_path, back)
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load(back.read_text())
    assert data["epochs"] == 250 and data["targets"][0]["batch_size"] == 5
    assert data["targets"][0]["features"] == [{"text": "strawberries lying on the grass"}]
    # convert refuses to overwrite, and says so
    before = back.read_bytes()
    out = cli("convert", graph_path, back)
    assert out.returncode == 1 and "already exists" in out.stderr
    assert back.read_bytes() == before
    assert cli("convert", "--force", graph_path, back).returncode == 0


def test_convert_to_stdout_and_explicit_format(tmp_path):
    legacy = tmp_path / "s.yaml"
    legacy.write_text(STRAWBERRIES_YAML)
    out = cli("convert", "--to", "graph", legacy, "-")
    assert out.returncode == 0
    data = yaml.safe_load(out.stdout)
    assert data["format"] == "clipig-nodes-graph" and "random_sampler" in data["nodes"]


def test_convert_bad_legacy_writes_nothing(tmp_path):
    legacy = tmp_path / "bad.yaml"
    legacy.write_text("learnrate: 0.01 * sim\ntargets:\n  - features: [{text: a cat}]\n"
                      "    transforms:\n      - noise: {std: 0.1}\n")
    out_path = tmp_path / "bad.graph.yaml"
    out = cli("convert", legacy, out_path)
    assert out.returncode == 1
    assert not out_path.exists()
    assert "learnrate" in out.stderr and "targets[0].transforms[0].noise" in out.stderr
    assert "Traceback" not in out.stderr


def test_nodes_catalog():
    out = cli("nodes")
    assert out.returncode == 0
    assert "random_rotate  [random]" in out.stdout
    assert "center_crop  [changes resolution]" in out.stdout
    data = json.loads(cli("nodes", "--json").stdout)
    assert len(data) == 49      # 41 + fourier_pixels, pyramid_pixels, cutouts, clip_model,
    #                             and a reroute per IMAGE, FEATURE, CONSTRAINT, TARGET
    by_name = {d["name"]: d for d in data}
    assert by_name["noise"]["params"][0]["expression_groups"] == ["learnrate", "resolution", "time"]
    assert by_name["blur_constraint"]["legacy_name"] == "blur"
    out = cli("nodes", "blurr")
    assert out.returncode == 1 and "did you mean 'blur'" in out.stderr


def test_light_commands_do_not_import_torch(tmp_path):
    path = tmp_path / "s.graph.yaml"
    save_graph(strawberries(), path)
    code = ("import sys; from clipig_nodes.cli import main\n"
            f"rc = main(['validate', {str(path)!r}]) + main(['nodes', '--json'])"
            f" + main(['convert', {str(path)!r}, {str(tmp_path / 'x.yaml')!r}])\n"
            "sys.stdout = sys.__stdout__\n"
            "print('RESULT', rc, [m for m in ('torch', 'dearpygui') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "RESULT 0 []", out.stderr

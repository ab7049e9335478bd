"""Plugins (CLIPIG_NODES_PATH): a broken file, a name clash or a missing folder is one clear
message with the file and line in every command; a plugin never ends the process on its own;
an error in a plugin's code at run time names the node and the plugin line."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clipig_nodes.registry import RegistryError, discover

ROOT = Path(__file__).resolve().parent.parent

GRAPH = """\
format: clipig-nodes-graph
version: 2
nodes:
  pixels: {{type: pixels, params: {{resolution: [32, 32]}}}}
  text_feature: {{type: text_feature, params: {{text: hi}}}}
  target: {{type: target, params: {{batch_size: 2}}}}
  train: {{type: train, params: {{epochs: 3}}}}
  t1: {{type: {type}, params: {params}}}
links:
- pixels.image -> t1.image
- t1.image -> target.image
- text_feature.feature -> target.features
- target.target -> train.targets
"""

BROKEN = {
    "exit": ("import sys\n\nsys.exit(7)\n", "p.py:3: cannot load node module: it called exit(7)"),
    "syntax": ("x = 1\ndef f(:\n    pass\n", "p.py:2: cannot load node module: SyntaxError"),
    "raises": ("x = 1\ny = 1 / 0\n", "p.py:2: cannot load node module: ZeroDivisionError"),
    "interrupt": ("raise KeyboardInterrupt\n", "p.py:1: cannot load node module: KeyboardInterrupt"),
    "base": ("raise BaseException('boo')\n", "p.py:1: cannot load node module: BaseException: boo"),
    "clash": ("from clipig_nodes.nodebase import Transform\n\n\nclass B(Transform):\n"
              "    '''Another blur.'''\n    name = 'blur'\n    apply = staticmethod(lambda x, p: x)\n",
              "p.py:4: node type 'blur' is declared twice: also in "),
}


def cli(*args, path=None, cwd=ROOT):
    env = dict(os.environ)
    env.pop("CLIPIG_DEBUG", None)
    if path is not None:
        env["CLIPIG_NODES_PATH"] = str(path)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120, env=env)


def write_graph(folder, type_name="blur", params="{}"):
    path = folder / "g.graph.yaml"
    path.write_text(GRAPH.format(type=type_name, params=params))
    return path


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_plugin_is_a_registry_error_with_file_and_line(tmp_path, kind):
    source, expected = BROKEN[kind]
    (tmp_path / "p.py").write_text(source)
    from clipig_nodes.registry import BUILTIN_NODES_DIR
    with pytest.raises(RegistryError) as caught:
        discover([BUILTIN_NODES_DIR, tmp_path])
    assert str(caught.value).startswith(str(tmp_path / expected))


@pytest.mark.parametrize("kind", ["exit", "clash"])
def test_broken_plugin_is_one_clear_message_in_every_command(tmp_path, kind):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    source, expected = BROKEN[kind]
    (plugin_dir / "p.py").write_text(source)
    graph = write_graph(tmp_path)
    for command in (("validate", graph), ("run", graph, "-o", f"{tmp_path}/out/"),
                    ("convert", graph, "-"), ("nodes",), ("gui", graph)):
        result = cli(*command, path=plugin_dir)
        assert result.returncode == 1, (command, result.stderr)
        assert f"clipig-nodes {command[0]}: {plugin_dir / expected}" in result.stderr, \
            (command, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_missing_plugin_folder_in_every_command(tmp_path):
    graph = write_graph(tmp_path)
    for command in (("validate", graph), ("run", graph), ("convert", graph, "-"), ("nodes",)):
        result = cli(*command, path=tmp_path / "nowhere")
        assert result.returncode == 1
        assert (f"node folder '{tmp_path / 'nowhere'}' (from CLIPIG_NODES_PATH) does not exist"
                in result.stderr)


PLUGIN = '''
import sys

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import TRL, Float


class Fragile(Transform):
    """Fails on purpose: amount 0 divides by zero, amount 2 calls exit."""
    name = "fragile"
    params = (Float("amount", 1.0, "What to do.", groups=TRL),)

    @staticmethod
    def apply(x, p):
        amount = float(p.tensor("amount").flatten()[0])
        if amount == 2.0:
            sys.exit(3)
        return x * (1 / amount)


class Greedy(Transform):
    """Asks the allocator for 32 TB."""
    name = "greedy"

    @staticmethod
    def apply(x, p):
        import torch
        return x + torch.empty(2**43).sum()
'''


@pytest.fixture
def plugin_dir(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "fragile.py").write_text(textwrap.dedent(PLUGIN))
    return folder


def line_of(text):
    """1-based line of the plugin line that ends in `text`."""
    lines = textwrap.dedent(PLUGIN).splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip() == text)


@pytest.mark.parametrize("amount,message", [
    (0, "node 't1' (type fragile): ZeroDivisionError: float division by zero at fragile.py:"
        f"{line_of('return x * (1 / amount)')}"),
    (2, f"node 't1' (type fragile): it called exit(3) at fragile.py:{line_of('sys.exit(3)')}"),
])
def test_error_in_plugin_code_names_the_node_and_line(tmp_path, plugin_dir, tiny_clip, amount,
                                                      message):
    graph = write_graph(tmp_path, "fragile", f"{{amount: {amount}}}")
    result = cli("run", graph, "-o", f"{tmp_path}/out/", "--model", tiny_clip, "--device", "cpu",
                 "-v", "0", path=plugin_dir)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"{graph}: {message}"


def test_cpu_out_of_memory_is_the_clear_message_and_saves(tmp_path, plugin_dir, tiny_clip):
    graph = write_graph(tmp_path, "greedy")
    result = cli("run", graph, "-o", f"{tmp_path}/out/", "--model", tiny_clip, "--device", "cpu",
                 "-v", "0", path=plugin_dir)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == (f"{graph}: out of CPU memory at epoch 0: lower batch_size "
                                     "or the resolution, or use --precision bf16")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["g.graph.yaml", "g.png"]

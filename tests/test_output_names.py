"""Outputs stay where the user says: `-o` decides; a file's own `output` may only name a
place inside the folder the run starts in. `convert` refuses, with a message, every output
it cannot or must not write, and writes nothing when there are errors."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clipig_nodes.cli import main as cli_main
from clipig_nodes.graph.fileformat import save_graph
from clipig_nodes.graph.validate import validate
from clipig_nodes.output_names import output_path, output_problem

from .graph_builders import minimal, strawberries

ROOT = Path(__file__).resolve().parent.parent

REFUSED = ["/tmp/x.png", "/etc/cron.d/", "~/x.png", "~", "../x.png", "a/../../x.png",
           "a/../b.png", "x.conf", "out/x.sh", "pic.png/..", "C:\\x.png", "\\\\server\\x.png",
           "x.png\n", "..", "./.."]
ALLOWED = ["./", "", None, "out/", "x.png", "out/deep/x.PNG", "pic", "./a/b/", "a.b/c.png"]


@pytest.mark.parametrize("value", REFUSED)
def test_graph_outputs_outside_the_folder_are_refused(value):
    problem = output_problem(value)
    assert problem and ("-o" in problem or "control" in problem), value
    with pytest.raises(ValueError):
        output_path(value, "demo.graph.yaml", from_graph=True)


@pytest.mark.parametrize("value", ALLOWED)
def test_graph_outputs_inside_the_folder_are_allowed(value):
    assert output_problem(value) is None
    path = output_path(value, "demo.graph.yaml", from_graph=True)
    assert not path.is_absolute() and ".." not in path.parts and path.suffix.lower() == ".png"


def test_minus_o_decides_whatever_it_names(tmp_path):
    assert output_path(str(tmp_path) + "/", "a.yaml") == tmp_path / "a.png"
    assert output_path("~/pics/x.png").parts[-2:] == ("pics", "x.png")


def test_validate_reports_the_output_param():
    g = strawberries()
    g.set_param("train", "output", "/some/dir/x.conf")
    errors = [p for p in validate(g) if p.is_error]
    assert [(p.node, p.param) for p in errors] == [("train", "output")]
    assert "-o" in errors[0].message


def cli(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_run_refuses_a_file_that_names_its_own_place_outside(tmp_path):
    g = minimal()
    g.set_param("train", "output", str(tmp_path / "elsewhere" / "x.conf"))
    path = tmp_path / "work" / "g.graph.yaml"
    path.parent.mkdir()
    save_graph(g, path)
    for command in ("validate", "run"):
        out = cli(command, path, cwd=path.parent)
        assert out.returncode == 1 and "Traceback" not in out.stderr
        assert "node 'train' param 'output'" in out.stderr and "-o" in out.stderr
    assert not (tmp_path / "elsewhere").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["g.graph.yaml"]


# --- convert -------------------------------------------------------------------------------------

def graph_file(tmp_path):
    path = tmp_path / "s.graph.yaml"
    save_graph(strawberries(), path)
    return path


def test_convert_into_a_missing_folder_or_onto_a_folder(tmp_path):
    src = graph_file(tmp_path)
    out = cli("convert", src, tmp_path / "missing" / "x.yaml", cwd=tmp_path)
    assert out.returncode == 1 and "does not exist" in out.stderr
    (tmp_path / "dir").mkdir()
    out = cli("convert", "--force", src, tmp_path / "dir", cwd=tmp_path)
    assert out.returncode == 1 and "is a folder" in out.stderr
    assert "internal error" not in out.stderr and not (tmp_path / "missing").exists()
    assert list((tmp_path / "dir").iterdir()) == []


@pytest.mark.parametrize("force", [False, True])
def test_convert_never_replaces_a_symbolic_link(tmp_path, force):
    src = graph_file(tmp_path)
    link = tmp_path / "x.yaml"
    os.symlink(tmp_path / "nowhere.yaml", link)           # dangling
    out = cli("convert", *(["--force"] if force else []), src, link, cwd=tmp_path)
    assert out.returncode == 1 and "symbolic link" in out.stderr
    assert link.is_symlink() and not (tmp_path / "nowhere.yaml").exists()


def test_convert_onto_a_read_only_file_system(tmp_path, monkeypatch, capsys):
    import tempfile

    from clipig_nodes import yamlio
    src = graph_file(tmp_path)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    # a read-only file system refuses both an unnamed file (O_TMPFILE) and a named one
    monkeypatch.setattr(yamlio, "_unnamed_file", lambda folder: None)
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    rc = cli_main(["convert", str(src), str(tmp_path / "x.yaml")])
    err = capsys.readouterr().err
    assert rc == 1 and "Read-only file system" in err and "nothing written" in err
    assert "internal error" not in err and not (tmp_path / "x.yaml").exists()


def test_convert_of_a_graph_with_a_cycle_writes_nothing(tmp_path):
    g = minimal()
    g.add_node("blur", "b1")
    g.add_node("blur", "b2")
    g.connect("b1", "image", "b2", "image")
    g.connect("b2", "image", "b1", "image")
    src = tmp_path / "cycle.graph.yaml"
    save_graph(g, src)
    for out_name in ("back.yaml", "again.graph.yaml"):
        out = cli("convert", src, tmp_path / out_name, cwd=tmp_path)
        assert out.returncode == 1 and "cycle" in out.stderr, out.stderr
        assert not (tmp_path / out_name).exists()


def test_minus_o_runs_a_legacy_config_whose_output_is_refused(tiny_clip, tmp_path):
    config = tmp_path / "abs.yaml"
    config.write_text(f"output: {tmp_path / 'elsewhere'}/\nepochs: 1\nresolution: 40 32\n"
                      "targets:\n  - features: [{text: a cat}]\n")
    out = cli("validate", config, cwd=tmp_path)
    assert out.returncode == 1 and "-o" in out.stderr
    out = cli("run", config, "-o", tmp_path / "out" / "x.png", "--model", tiny_clip,
              "--device", "cpu", "-v", "0", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "x.png").is_file() and not (tmp_path / "elsewhere").exists()
    # convert writes no image: it keeps the value and warns
    out = cli("convert", config, tmp_path / "abs.graph.yaml", cwd=tmp_path)
    assert out.returncode == 0 and out.stderr.count("warning") == 1, out.stderr

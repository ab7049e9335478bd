"""Sweeps: grids, job names and keys, the index, resume after a crash or Ctrl-C, the contact
sheet, the command line and the Python API (tiny CLIP, CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clipig_nodes.graph.fileformat import save_graph
from clipig_nodes.problems import ProblemsError
from clipig_nodes.sweep import SweepInterrupted, sweep
from clipig_nodes.sweep.grid import expand, job_name, parse_grid
from clipig_nodes.sweep.index import SweepIndex
from clipig_nodes.sweep.jobs import JobTrainer

from .graph_builders import minimal

ROOT = Path(__file__).resolve().parent.parent


def small_graph(text="a lighthouse"):
    g = minimal(text)
    g.set_param("pixels", "resolution", [24, 16])
    g.add_input("prompt", "text_feature", "text")
    g.add_input("seed", "train", "seed")
    g.add_input("size", "pixels", "resolution")
    return g


@pytest.fixture
def count_trainings(monkeypatch):
    """How many jobs were really trained (JobTrainer.run calls), the real training underneath."""
    calls = []
    real = JobTrainer.run

    def counted(self, key, graph, *args, **kwargs):
        calls.append(key)
        return real(self, key, graph, *args, **kwargs)

    monkeypatch.setattr(JobTrainer, "run", counted)
    return calls


# --- grids and jobs (no torch) ---------------------------------------------------------------------

def test_parse_grid_files_ranges_and_repeats(tmp_path):
    (tmp_path / "p.txt").write_text("a cat\n\n# a comment\n  a dog, big  \n", encoding="utf-8")
    grid = parse_grid([f"prompt=@{tmp_path / 'p.txt'}", "seed=1..3", "size=64 32", "size=32 64",
                       "prompt=a cow"])
    assert grid == {"prompt": ["a cat", "a dog, big", "a cow"], "seed": [1, 2, 3],
                    "size": ["64 32", "32 64"]}


@pytest.mark.parametrize("spec, fragment", [
    ("seed=5..1", "empty"), ("prompt=@/no/such/file", "cannot read"), ("seed", "NAME=VALUES"),
    ("=3", "NAME=VALUES"),
])
def test_parse_grid_errors(spec, fragment):
    with pytest.raises(ProblemsError) as info:
        parse_grid([spec])
    assert fragment in str(info.value.problems[0])


def test_expand_product_zip_names_and_keys(registry):
    g = small_graph()
    jobs = expand(g, {"prompt": ["a cat", "a dog"], "seed": ["1", "2", "3"]}, registry=registry)
    assert [(j.inputs["prompt"], j.inputs["seed"]) for j in jobs] == [
        ("a cat", 1), ("a cat", 2), ("a cat", 3), ("a dog", 1), ("a dog", 2), ("a dog", 3)]
    assert [j.name for j in jobs][:2] == ["a-cat_seed-1", "a-cat_seed-2"]
    assert jobs[4].graph.nodes["text_feature"].params["text"] == "a dog"
    assert jobs[4].seed == 2 and len({j.key for j in jobs}) == 6
    again = expand(g, {"prompt": ["a dog"], "seed": [2]}, registry=registry)
    assert again[0].key == jobs[4].key                     # same graph, values, settings: same key
    assert expand(g, {"prompt": ["a dog"], "seed": [2]}, salt="epochs=9", registry=registry)[0].key \
        != jobs[4].key
    zipped = expand(g, {"prompt": ["a", "b"], "seed": [7, 8]}, zip_values=True, registry=registry)
    assert [(j.inputs["prompt"], j.seed) for j in zipped] == [("a", 7), ("b", 8)]
    with pytest.raises(ProblemsError, match="same number of values"):
        expand(g, {"prompt": ["a", "b"], "seed": [7]}, zip_values=True, registry=registry)
    unseeded = expand(g, {"prompt": ["x"]}, default_seed=42, registry=registry)
    assert unseeded[0].seed == 42
    assert job_name({"size": [768, 512], "prompt": "A Red Barn, at night!"}) == \
        "size-768x512_a-red-barn-at-night"
    clash = expand(g, {"prompt": ["a cat", "A cat!"]}, registry=registry)
    assert [j.name for j in clash] == ["a-cat", "a-cat-2"]


def test_expand_reports_every_bad_input_with_its_value(registry):
    with pytest.raises(ProblemsError) as info:
        expand(small_graph(), {"seed": ["1", "-4"], "size": ["1 2 3"], "colour": ["red"]},
               registry=registry)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "input 'seed'" in text and "'-4'" in text
    assert "input 'size'" in text and "'1 2 3'" in text
    assert "unknown input 'colour'" in text
    assert len(info.value.problems) == 3


# --- sweeps (tiny CLIP) ----------------------------------------------------------------------------

def test_sweep_writes_images_index_csv_and_contact_sheet(tiny_clip, tmp_path, count_trainings):
    out = tmp_path / "out"
    result = sweep(small_graph(), out, {"prompt": ["a cat", "a dog"], "seed": [1, 2]},
                   epochs=2, device="cpu", model=tiny_clip)
    assert [j.name for j in result.jobs] == ["a-cat_seed-1", "a-cat_seed-2", "a-dog_seed-1",
                                             "a-dog_seed-2"]
    assert all(j.status == "done" and j.path.is_file() and not j.skipped for j in result.jobs)
    assert len(count_trainings) == 4
    assert result.jobs[0].image.size == (24, 16) and len(result.images) == 4
    index = json.loads((out / "index.json").read_text())
    assert [e["inputs"] for e in index["jobs"]][1] == {"prompt": "a cat", "seed": 2}
    entry = index["jobs"][3]
    assert entry["status"] == "done" and entry["seed"] == 2 and entry["epochs"] == 2
    assert entry["image"] == "a-dog_seed-2.png" and isinstance(entry["loss"], float)
    assert entry["stats"] and entry["stats"][0]["features"][0]["label"]
    csv_lines = (out / "index.csv").read_text().splitlines()
    assert csv_lines[0].startswith("name,prompt,seed,status,image,epochs")
    assert csv_lines[4].startswith("a-dog_seed-2,a dog,2,done,a-dog_seed-2.png,2,")
    from PIL import Image
    assert Image.open(result.contact_sheet).size[0] > 2 * 192
    # the PNG carries the job's graph with its values
    from clipig_nodes.graph.pngmeta import read_png_graph
    assert read_png_graph(out / "a-dog_seed-1.png").nodes["text_feature"].params["text"] == "a dog"
    # a sweep alone gives the same image as `run` with those values
    from clipig_nodes.engine import run_graph
    from clipig_nodes.graph.inputs import with_inputs
    alone = run_graph(with_inputs(small_graph(), {"prompt": "a dog", "seed": 1}), epochs=2,
                      device="cpu", model=tiny_clip)
    import numpy as np
    assert np.array_equal(np.asarray(alone.image), np.asarray(result.jobs[2].image))


def test_rerun_skips_done_jobs_and_runs_only_new_ones(tiny_clip, tmp_path, count_trainings):
    out = tmp_path / "out"
    args = dict(epochs=1, device="cpu", model=tiny_clip)
    sweep(small_graph(), out, {"seed": [1, 2]}, **args)
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png") if p.name != "contact-sheet.png"}
    assert len(count_trainings) == 2
    result = sweep(small_graph(), out, {"seed": [1, 2, 3]}, **args)
    assert len(count_trainings) == 3
    assert [j.skipped for j in result.jobs] == [True, True, False]
    for name, stamp in first.items():
        assert (out / name).stat().st_mtime_ns == stamp            # never written again
    assert sorted(p.name for p in out.glob("seed-*.png")) == ["seed-1.png", "seed-2.png", "seed-3.png"]
    # other settings make other images: those jobs run, under new names
    sweep(small_graph(), out, {"seed": [1]}, **{**args, "epochs": 2})
    assert len(count_trainings) == 4 and (out / "seed-1-2.png").is_file()
    assert len(json.loads((out / "index.json").read_text())["jobs"]) == 4


def test_image_written_before_a_crash_is_adopted_not_trained_again(tiny_clip, tmp_path,
                                                                   count_trainings):
    out = tmp_path / "out"
    args = dict(epochs=1, device="cpu", model=tiny_clip)
    sweep(small_graph(), out, {"seed": [1, 2]}, **args)
    # a crash after the PNG of seed-2 was written, before the index was: the index lacks it
    index = SweepIndex.open(out)
    key = next(k for k, e in index.entries.items() if e.name == "seed-2")
    del index.entries[key]
    index.save()
    result = sweep(small_graph(), out, {"seed": [1, 2]}, **args)
    assert len(count_trainings) == 2 and all(j.skipped for j in result.jobs)
    assert SweepIndex.open(out).is_done(key)
    assert sorted(p.name for p in out.glob("seed-*")) == ["seed-1.png", "seed-2.png"]


def test_interrupted_sweep_keeps_finished_jobs_and_resumes(tiny_clip, tmp_path, count_trainings):
    from clipig_nodes.sweep import Progress

    class CtrlCInThirdJob(Progress):
        def epoch(self, job, epoch, epochs):
            if job.index == 2:
                raise KeyboardInterrupt

    out = tmp_path / "out"
    args = dict(epochs=2, device="cpu", model=tiny_clip)
    with pytest.raises(SweepInterrupted) as info:
        sweep(small_graph(), out, {"seed": [1, 2, 3, 4]}, progress=CtrlCInThirdJob(), **args)
    assert [j.status for j in info.value.result.jobs] == ["done", "done", "pending", "pending"]
    assert sorted(p.name for p in out.glob("seed-*")) == ["seed-1.png", "seed-2.png"]
    assert len(count_trainings) == 3
    result = sweep(small_graph(), out, {"seed": [1, 2, 3, 4]}, **args)
    assert count_trainings[3:] == [j.key for j in expand(small_graph(), {"seed": [3, 4]},
                                                          salt=_salt(tiny_clip, 2))]
    assert [j.skipped for j in result.jobs] == [True, True, False, False]
    assert sorted(p.name for p in out.glob("seed-*")) == [f"seed-{i}.png" for i in range(1, 5)]


def test_ctrl_c_while_an_image_is_written_leaves_no_file_and_keeps_the_name(tiny_clip, tmp_path,
                                                                           monkeypatch):
    """The CI once saw seed-4-1.png after a resume: Ctrl-C between claiming seed-4.png (an
    empty file) and filling it left the name taken. Now the name is claimed with the file."""
    import clipig_nodes.graph.pngmeta as pngmeta
    real = pngmeta.encode_png
    calls = []

    def ctrl_c_in_second_image(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pngmeta, "encode_png", ctrl_c_in_second_image)
    out = tmp_path / "out"
    args = dict(epochs=1, device="cpu", model=tiny_clip)
    with pytest.raises(SweepInterrupted) as info:
        sweep(small_graph(), out, {"seed": [1, 2, 3]}, **args)
    assert [j.status for j in info.value.result.jobs] == ["done", "pending", "pending"]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(("seed-", "."))) == ["seed-1.png"]
    monkeypatch.setattr(pngmeta, "encode_png", real)
    sweep(small_graph(), out, {"seed": [1, 2, 3]}, **args)
    assert sorted(p.name for p in out.glob("seed-*")) == ["seed-1.png", "seed-2.png", "seed-3.png"]


def test_image_numbered_past_a_taken_name_is_adopted_after_a_crash(tiny_clip, tmp_path,
                                                                   count_trainings):
    from clipig_nodes.sweep import Progress
    out = tmp_path / "out"

    class SomeoneTakesTheName(Progress):            # while the job trains
        def epoch(self, job, epoch, epochs):
            (out / "seed-1.png").write_bytes(b"someone else's file")

    args = dict(epochs=1, device="cpu", model=tiny_clip)
    first = sweep(small_graph(), out, {"seed": [1]}, progress=SomeoneTakesTheName(), **args)
    assert first.jobs[0].path.name == "seed-1-1.png"
    assert (out / "seed-1.png").read_bytes() == b"someone else's file"
    index = SweepIndex.open(out)                   # a crash before the index recorded it
    index.entries.clear()
    index.save()
    again = sweep(small_graph(), out, {"seed": [1]}, **args)
    assert len(count_trainings) == 1 and again.jobs[0].skipped
    assert again.jobs[0].path.name == "seed-1-1.png"
    assert sorted(p.name for p in out.glob("seed-*")) == ["seed-1-1.png", "seed-1.png"]


def _salt(model, epochs):
    from clipig_nodes.sweep.jobs import JobOptions
    return JobOptions(device="cpu", model=model, epochs=epochs).salt()


def test_a_failing_job_is_recorded_and_the_others_finish(tiny_clip, tmp_path):
    g = small_graph()
    g.add_node("image_feature", params={"image": str(tmp_path / "photo.png")})
    g.connect("image_feature", "feature", "target", "features")
    g.add_input("photo", "image_feature", "image")
    from PIL import Image
    Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "photo.png")
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    result = sweep(g, tmp_path / "out", {"photo": [str(tmp_path / "broken.png"),
                                                   str(tmp_path / "photo.png")]},
                   epochs=1, device="cpu", model=tiny_clip)
    assert [j.status for j in result.jobs] == ["failed", "done"]
    assert "broken.png" in result.failed[0].error
    csv_text = (tmp_path / "out" / "index.csv").read_text()
    assert ",failed," in csv_text


def test_bad_graph_or_values_write_nothing(tmp_path):
    g = small_graph()
    g.add_node("image_feature", params={"image": "photo.png"})
    g.connect("image_feature", "feature", "target", "features")
    g.add_input("photo", "image_feature", "image")
    with pytest.raises(ProblemsError, match="input 'seed'"):
        sweep(g, tmp_path / "out", {"seed": ["x"]})
    with pytest.raises(ProblemsError, match="file not found: .*missing.png"):   # a value's file
        sweep(g, tmp_path / "out", {"photo": [str(tmp_path / "missing.png")]})
    assert not (tmp_path / "out").exists()


# --- command line ----------------------------------------------------------------------------------

def cli(*args, **kw):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, **kw)


def test_cli_sweep_with_prompt_file_and_bad_values(tiny_clip, tmp_path):
    graph_path = tmp_path / "t.graph.yaml"
    save_graph(small_graph(), graph_path)
    (tmp_path / "prompts.txt").write_text("a cat\na dog\n", encoding="utf-8")
    out = cli("sweep", graph_path, "-o", tmp_path / "out", "--grid", f"prompt=@{tmp_path / 'prompts.txt'}",
              "seed=1..2", "--set", "size=16 16", "--model", tiny_clip, "--device", "cpu",
              "--epochs", "1")
    assert out.returncode == 0, out.stderr
    assert "4 of 4 images" in out.stderr and "epochs" in out.stderr and "jobs" in out.stderr
    assert len(list((tmp_path / "out").glob("a-*.png"))) == 4
    again = cli("sweep", graph_path, "-o", tmp_path / "out", "--grid", f"prompt=@{tmp_path / 'prompts.txt'}",
                "seed=1..2", "--set", "size=16 16", "--model", tiny_clip, "--device", "cpu",
                "--epochs", "1", "-v", "1")
    assert again.returncode == 0 and "(4 from an earlier run)" in again.stderr
    bad = cli("sweep", graph_path, "-o", tmp_path / "bad", "--grid", "seed=1..2", "size=0 0 0")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "input 'size'" in bad.stderr and not (tmp_path / "bad").exists()


def test_cli_ctrl_c_loses_no_finished_job_and_redoes_none(tiny_clip, tmp_path):
    graph_path = tmp_path / "t.graph.yaml"
    g = small_graph()
    save_graph(g, graph_path)
    out_dir = tmp_path / "out"
    command = [sys.executable, str(ROOT / "main.py"), "sweep", str(graph_path), "-o", str(out_dir),
               "--grid", "seed=1..6", "--model", tiny_clip, "--device", "cpu", "--epochs", "15",
               "-v", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = _done(out_dir)
        if done:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "run the same command again" in err
    finished = _done(out_dir)
    assert 1 <= len(finished) < 6
    stamps = {name: (out_dir / name).stat().st_mtime_ns for name in finished.values()}
    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert len(_done(out_dir)) == 6
    for name, stamp in stamps.items():
        assert (out_dir / name).stat().st_mtime_ns == stamp
    assert sorted(p.name for p in out_dir.glob("seed-*")) == [f"seed-{i}.png" for i in range(1, 7)]


def _done(out_dir) -> dict:
    try:
        data = json.loads((out_dir / "index.json").read_text())
    except (OSError, ValueError):
        return {}
    return {e["key"]: e["image"] for e in data["jobs"] if e["status"] == "done"}


def test_light_import():
    code = ("import sys; import clipig_nodes.sweep, clipig_nodes.sweep.grid, clipig_nodes.sweep.index;"
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**os.environ})

"""What a run leaves on disk when it is interrupted, however rudely: a storm of Ctrl-C,
kill -9 at any moment, several runs sharing a folder. Real processes, real signals."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from clipig_nodes.graph.fileformat import load_graph, save_graph
from clipig_nodes.graph.pngmeta import read_png_graph

from .graph_builders import minimal

ROOT = Path(__file__).resolve().parent.parent


def graph_file(folder: Path, name: str, epochs: int, snapshot_interval=1) -> Path:
    g = minimal("strawberries")
    g.set_param("pixels", "resolution", [40, 32])
    g.set_param("train", "epochs", epochs)
    g.set_param("train", "snapshot_interval", snapshot_interval)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.graph.yaml"
    save_graph(g, path)
    return path


def start_run(graph_path: Path, out: Path, tiny_clip, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run", str(graph_path), "-o", f"{out}/",
         "--model", tiny_clip, "--device", "cpu", "-v", "0", *map(str, extra)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def wait_for(path: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.stat().st_size > 0):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def check_folder(folder: Path) -> tuple[list[Path], list[Path]]:
    """Every PNG is a whole image with its graph, every sidecar a graph file, and each
    sidecar is named after an image it describes. Returns (pngs, sidecars)."""
    pngs = sorted(folder.glob("*.png"))
    sidecars = sorted(folder.glob("*.graph.yaml"))
    for png in pngs:
        with Image.open(png) as image:
            image.verify()
        read_png_graph(png)
    for sidecar in sidecars:
        image = sidecar.with_name(sidecar.name[: -len(".graph.yaml")] + ".png")
        assert image in pngs, f"{sidecar.name} describes no image"
        assert load_graph(sidecar) == read_png_graph(image)
    return pngs, sidecars


@pytest.mark.parametrize("gap", [0.02, 0.03])
def test_a_storm_of_ctrl_c_saves_once_and_exits_130(tiny_clip, tmp_path, gap):
    graph_path = graph_file(tmp_path / "in", "long", 1_000_000)
    out = tmp_path / "out"
    process = start_run(graph_path, out, tiny_clip)
    wait_for(out / "long.png")
    time.sleep(0.5)
    for _ in range(25):
        process.send_signal(signal.SIGINT)
        time.sleep(gap)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert "stopped after" in stderr and stderr.count("saved") == 1
    pngs, sidecars = check_folder(out)
    assert [p.name for p in pngs] == ["long.png"]
    assert [s.name for s in sidecars] == ["long.graph.yaml"]
    assert "# epochs: " in sidecars[0].read_text()


def test_finished_run_leaves_one_sidecar_named_after_its_image(tiny_clip, tmp_path):
    graph_path = graph_file(tmp_path / "in", "one", 3, snapshot_interval=1)
    out = tmp_path / "out"
    for _ in range(2):
        process = start_run(graph_path, out, tiny_clip)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    pngs, sidecars = check_folder(out)
    assert [p.name for p in pngs] == ["one-1.png", "one.png"]
    assert [s.name for s in sidecars] == ["one-1.graph.yaml", "one.graph.yaml"]


def test_concurrent_runs_in_one_folder_keep_names_consistent(tiny_clip, tmp_path):
    graph_path = graph_file(tmp_path / "in", "conc", 4, snapshot_interval=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "conc-2.graph.yaml").write_text("not ours\n")      # a name the runs must skip
    processes = [start_run(graph_path, out, tiny_clip, "--seed", seed) for seed in range(4)]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    assert (out / "conc-2.graph.yaml").read_text() == "not ours\n"
    (out / "conc-2.graph.yaml").unlink()
    pngs, sidecars = check_folder(out)
    assert len(pngs) == len(sidecars) == 4
    seeds = {read_png_graph(p).nodes["train"].params["seed"] for p in pngs}
    assert seeds == {0, 1, 2, 3}
    assert not (out / "conc-2.png").exists()


def test_kill_9_at_random_moments_leaves_only_whole_files(tiny_clip, tmp_path, request):
    trials = request.config.getoption("--kill-trials")
    rng = random.Random(1234)
    graph_path = graph_file(tmp_path / "in", "k", 1_000_000)
    out = tmp_path / "out"
    images = 0
    for trial in range(trials):
        process = start_run(graph_path, out, tiny_clip)
        if trial % 2:      # half the kills come after the first image, during snapshots
            wait_for(out / ("k.png" if images == 0 else f"k-{images}.png"))
        time.sleep(rng.uniform(0.0, 1.5))
        process.kill()
        process.communicate(timeout=60)
        pngs, _ = check_folder(out)
        images = len(pngs)
    assert images >= trials // 2
    assert not [p for p in out.iterdir() if p.stat().st_size == 0]

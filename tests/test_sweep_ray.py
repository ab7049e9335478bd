"""Sweeps on a real local Ray (2 CPUs): a worker killed mid-job is retried elsewhere and every
image is there exactly once; workers do not outlive the driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import ray

from clipig_nodes.graph.fileformat import save_graph
from clipig_nodes.sweep import sweep
from clipig_nodes.sweep.ray_runner import TASK_NAME

from .test_sweep import ROOT, small_graph

JOB_TITLE = f"ray::{TASK_NAME}"


# processes, read from /proc (Linux): enough here, and no extra dependency

def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def descendants(root: int) -> set[int]:
    parents = {pid: _parent(pid) for pid in _pids()}
    found, frontier = set(), {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def job_processes(root: int) -> set[int]:
    """Ray workers under `root` training a sweep job now."""
    return {pid for pid in descendants(root) if JOB_TITLE in _cmdline(pid)}


def test_a_killed_worker_loses_no_job_and_every_image_is_there_once(tiny_clip, tmp_path):
    package_root = str(ROOT)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": package_root}})
    try:
        out = tmp_path / "out"
        outcome = {}

        def driver():
            outcome["result"] = sweep(small_graph(), out, {"seed": list(range(1, 7))}, ray="auto",
                                      epochs=25, device="cpu", model=tiny_clip)

        thread = threading.Thread(target=driver)
        thread.start()
        victim = None
        deadline = time.monotonic() + 240
        while victim is None and time.monotonic() < deadline and thread.is_alive():
            mine = sorted(job_processes(_raylet_pid()))
            if mine:
                time.sleep(1.0)                  # let it get into the job
                if _alive(mine[0]):
                    victim = mine[0]
                    os.kill(victim, signal.SIGKILL)
            time.sleep(0.1)
        thread.join(timeout=600)
        assert victim is not None, "no worker was seen training a job"
        result = outcome["result"]
        assert [j.status for j in result.jobs] == ["done"] * 6
        assert sorted(p.name for p in out.glob("seed-*")) == [f"seed-{i}.png" for i in range(1, 7)]
        entries = json.loads((out / "index.json").read_text())["jobs"]
        assert len(entries) == 6 and len({e["key"] for e in entries}) == 6
        workers = {e["worker"].rsplit(":", 1)[1] for e in entries}
        assert str(victim) not in workers                # its job was trained by another worker
    finally:
        ray.shutdown()


def _raylet_pid() -> int:
    """This test's raylet: its Ray workers are its children."""
    node = ray._private.worker.global_worker.node
    return node.all_processes["raylet"][0].process.pid


def test_cli_ray_local_batches_and_workers_end_with_the_driver(tiny_clip, tmp_path):
    graph_path = tmp_path / "t.graph.yaml"
    save_graph(small_graph(), graph_path)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "sweep", str(graph_path), "-o", str(tmp_path / "out"),
         "--grid", "seed=1..3", "--model", tiny_clip, "--device", "cpu", "--epochs", "2",
         "--ray", "local", "--batch", "2", "-v", "0"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()
    while process.poll() is None:
        seen |= job_processes(process.pid)
        time.sleep(0.2)
    err = process.stderr.read()
    assert process.returncode == 0, err
    assert sorted(p.name for p in (tmp_path / "out").glob("seed-*")) == [f"seed-{i}.png" for i in (1, 2, 3)]
    assert seen, "no Ray worker was seen"
    entries = json.loads((tmp_path / "out" / "index.json").read_text())["jobs"]
    assert [e["status"] for e in entries] == ["done"] * 3
    assert entries[0]["worker"] == entries[1]["worker"]          # one task trained 2 jobs
    time.sleep(2)
    assert not [pid for pid in seen if _alive(pid)]


def test_ray_missing_says_how_to_install(tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"
            "from clipig_nodes.cli import main\n"
            f"sys.exit(main(['sweep', {str(ROOT / 'graphs' / 'strawberries.graph.yaml')!r}, '-o', "
            f"{str(tmp_path / 'out')!r}, '--grid', 'seed=1..2', '--ray', 'auto']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert 'pip install -e ".[cluster]"' in out.stderr
    assert not (tmp_path / "out").exists()

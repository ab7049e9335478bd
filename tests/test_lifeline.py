"""No orphan workers: when the process that started a worker dies by kill -9, the worker
ends within a few seconds (the editor's training process, and any worker that uses
clipig_nodes.lifeline)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GENERIC_PARENT = """
import multiprocessing, sys, time
from clipig_nodes.lifeline import Lifeline
from tests.test_lifeline import sleeping_worker
if __name__ == "__main__":
    line = Lifeline()
    p = multiprocessing.get_context("spawn").Process(target=sleeping_worker,
                                                      args=(line.child_end,), daemon=True)
    p.start()
    line.started()
    print(p.pid, flush=True)
    time.sleep(600)
"""

EDITOR_PARENT = """
import time
from clipig_nodes.gui.runner import Runner
if __name__ == "__main__":
    runner = Runner(threads=1)
    runner.warm_up()
    print(runner.process.pid, flush=True)
    time.sleep(600)
"""


def sleeping_worker(child_end):
    from clipig_nodes.lifeline import watch_parent
    watch_parent(child_end)
    time.sleep(600)          # a worker busy with something else: training, a sweep


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            state = next(line for line in f if line.startswith("State:"))
        return "zombie" not in state and "dead" not in state.lower().split(":")[1]
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def kill_parent_and_wait(script: str) -> tuple[float, bool]:
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        time.sleep(0.5)
        assert alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        killed = time.monotonic()
        while alive(child) and time.monotonic() - killed < 30:
            time.sleep(0.1)
        return time.monotonic() - killed, alive(child)
    finally:
        parent.kill()
        if child is not None and alive(child):      # do not leave the orphan of a failure
            os.kill(child, signal.SIGKILL)


def test_a_worker_ends_when_its_parent_is_killed():
    seconds, still_alive = kill_parent_and_wait(GENERIC_PARENT)
    assert not still_alive and seconds < 5, seconds


def test_the_editors_training_process_ends_when_the_editor_is_killed():
    seconds, still_alive = kill_parent_and_wait(EDITOR_PARENT)
    assert not still_alive and seconds < 5, seconds

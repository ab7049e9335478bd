"""Training off the UI: the editor's side of the training process (gui.worker).

`Runner` starts the worker process on the first Start and keeps it for later
runs (torch loads once). Commands go to it through a queue; its RunMessages
come back through another and are drained once per frame by the UI thread,
which never waits for training. The images arrive as uint8 arrays; `rgba`
turns them into the flat float arrays Dear PyGui textures take.

The UI process never imports torch.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from pathlib import Path

import numpy as np

from ..graph.fileformat import dumps_graph, loads_graph
from ..graph.model import Graph
from ..lifeline import Lifeline
from .worker import RunMessage, main as worker_main

IDLE, LOADING, RUNNING, FINISHED = "idle", "loading", "running", "finished"


def rgba(image: np.ndarray) -> tuple[int, int, np.ndarray]:
    """[H,W,3] uint8 -> (W, H, flat RGBA float32 in [0,1]) for a Dear PyGui texture."""
    h, w = image.shape[:2]
    out = np.empty((h, w, 4), dtype=np.float32)
    np.multiply(image, 1.0 / 255.0, out=out[..., :3], casting="unsafe")
    out[..., 3] = 1.0
    return w, h, out.ravel()


def default_threads() -> int | None:
    """Torch threads of the training process: leave a core to the editor on small machines."""
    cores = os.cpu_count() or 1
    if cores <= 1:
        return None
    return cores - 1 if cores <= 8 else None


class Runner:
    def __init__(self, threads: int | None = -1):
        self.context = multiprocessing.get_context("spawn")
        self.threads = default_threads() if threads == -1 else threads
        self.process = None
        self.lifeline: Lifeline | None = None
        self.commands = self.events = None
        self.state = IDLE
        self.paused = False
        self.graph: Graph | None = None          # what the run trains (seed filled in)
        self.update_error: str | None = None
        self.updates_applied = 0
        self.started = ""                         # "training on cpu, seed ..."

    # --- the process ------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    @property
    def busy(self) -> bool:
        return self.state in (LOADING, RUNNING)

    def _ensure_process(self) -> None:
        if self.alive:
            return
        self.commands = self.context.Queue()
        self.events = self.context.Queue()
        # the worker ends when this process dies, even by kill -9 (daemon=True only
        # covers a normal exit of the editor)
        if self.lifeline is not None:
            self.lifeline.close()        # a previous worker that died: drop its line
        self.lifeline = Lifeline(self.context)
        self.process = self.context.Process(
            target=worker_main, args=(self.commands, self.events, self.threads),
            kwargs={"lifeline": self.lifeline.child_end},
            name="clipig-nodes-training", daemon=True)
        self.process.start()
        self.lifeline.started()

    def warm_up(self) -> None:
        """Start the training process now (it loads torch while the user edits)."""
        self._ensure_process()

    # --- control ----------------------------------------------------------------------------

    def start(self, graph: Graph, options: dict | None = None, source: Path | None = None) -> None:
        if self.busy:
            raise RuntimeError("a run is already going")
        self._ensure_process()
        self.graph = graph.copy()
        self.state = LOADING
        self.paused = False
        self.update_error = None
        options = {k: (str(v) if isinstance(v, Path) else v) for k, v in (options or {}).items()}
        self.commands.put(("start", dumps_graph(graph), options,
                           str(source) if source is not None else None))

    def _send(self, *command) -> None:
        if self.alive:
            self.commands.put(command)

    def stop(self) -> None:
        self._send("stop")

    def pause(self) -> None:
        if self.state == RUNNING:
            self._send("pause")
            self.paused = True

    def resume(self) -> None:
        if self.state == RUNNING:
            self._send("resume")
            self.paused = False

    def update(self, graph: Graph) -> None:
        """Send an edited graph; the run takes it before its next epoch ("updated" comes
        back). RuntimeError when nothing runs."""
        if self.state != RUNNING or not self.alive:
            raise RuntimeError("no run to update")
        self._send("update", dumps_graph(graph))

    def request_preview(self, node_id: str, output: str) -> None:
        """Ask the run for one node output's image; it answers with a "preview" RunMessage
        (message "node.output", image [H, W, 3] uint8)."""
        self._send("preview", node_id, output)

    def cancel_preview(self, node_id: str, output: str) -> None:
        """Stop sending an output's image (the preview window shows another one)."""
        self._send("unpreview", node_id, output)

    def drain(self, limit: int = 500) -> list[RunMessage]:
        messages: list[RunMessage] = []
        if self.events is None:
            return messages
        while len(messages) < limit:
            try:
                messages.append(self.events.get_nowait())
            except queue.Empty:
                break
            except (EOFError, OSError, ValueError):   # ValueError: the queue was closed
                break
        for message in messages:
            if message.kind == "started":
                self.state = RUNNING
                self.started = message.message
                if message.graph:
                    self.graph = loads_graph(message.graph, source="run")
            elif message.kind == "updated":
                self.updates_applied += 1
                if message.graph:
                    self.graph = loads_graph(message.graph, source="run")
            elif message.kind == "update_error":
                self.update_error = message.message
            elif message.kind in ("done", "stopped", "error"):
                self.state = FINISHED
                self.paused = False
        if self.busy and self.process is not None and not self.process.is_alive() and not messages:
            code = self.process.exitcode
            self.state = FINISHED
            messages.append(RunMessage("error", message="the training process ended unexpectedly"
                                                        f" (exit code {code})"))
        return messages

    def shutdown(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.is_alive():
            try:
                self.commands.put(("quit",))
            except (OSError, ValueError):
                pass
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(2)
        self.lifeline.close()
        for q in (self.commands, self.events):
            try:
                q.cancel_join_thread()
                q.close()
            except (OSError, ValueError, AttributeError):
                pass
        self.events = None      # closed: nothing more to drain
        self.process = None
        self.state = IDLE

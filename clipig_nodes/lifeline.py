"""Worker processes end when the process that started them dies, however it dies.

A training worker holds a model and gigabytes of memory; when the editor is killed
(`kill -9`, a crash) nothing tells the worker, and its command queue never reports EOF
(the worker's end of a multiprocessing queue keeps the pipe open). So the parent hands
each worker the read end of a pipe whose only write end the parent keeps: when the
parent dies, the OS closes that end and the worker reads EOF. A thread in the worker
waits for that and also polls `os.getppid()` (a portable fallback: it changes when the
parent is gone), then ends the process.

    parent:  line = Lifeline(context); Process(target=f, args=(..., line.child_end)).start()
             line.started()          # the parent drops its copy of the child's end
    worker:  watch_parent(child_end, on_death=run.stop)

No torch, no GUI: the editor (which must not load torch) and sweep workers use it alike.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Callable

POLL_SECONDS = 0.5      # also how often the getppid fallback looks
DEATH_EXIT_CODE = 3


class Lifeline:
    """The parent's side: a pipe whose write end stays here for the parent's lifetime."""

    def __init__(self, context=None):
        context = context or multiprocessing.get_context("spawn")
        self.child_end, self._parent_end = context.Pipe(duplex=False)
        self.parent_pid = os.getpid()

    def started(self) -> None:
        """Call after the worker started: only the worker must hold the read end, so that
        nothing but the parent's death (or close()) ends the line."""
        try:
            self.child_end.close()
        except OSError:
            pass

    def close(self) -> None:
        """Cut the line on purpose: the worker ends as if the parent had died."""
        try:
            self._parent_end.close()
        except OSError:
            pass


def watch_parent(child_end, parent_pid: int | None = None,
                 on_death: Callable[[], None] | None = None, grace: float = 2.0,
                 exit_code: int = DEATH_EXIT_CODE) -> threading.Thread:
    """In the worker: a daemon thread that ends this process when the parent is gone.

    `on_death` runs first (e.g. stop a run so it saves), with `grace` seconds to finish;
    then the process exits with `exit_code`, whatever its other threads are doing.
    `parent_pid` defaults to this process's parent now.
    """
    parent_pid = os.getppid() if parent_pid is None else parent_pid

    def parent_gone() -> bool:
        try:
            if child_end is not None and child_end.poll(POLL_SECONDS):
                child_end.recv()        # the parent never sends: this raises EOFError
        except (EOFError, OSError):
            return True
        return os.getppid() != parent_pid

    def watch() -> None:
        while not parent_gone():
            if child_end is None:
                threading.Event().wait(POLL_SECONDS)
        if on_death is not None:
            done = threading.Thread(target=_quietly, args=(on_death,), daemon=True)
            done.start()
            done.join(grace)
        os._exit(exit_code)

    thread = threading.Thread(target=watch, name="clipig-nodes-lifeline", daemon=True)
    thread.start()
    return thread


def _quietly(function: Callable[[], None]) -> None:
    try:
        function()
    except Exception:        # noqa: BLE001 - the process ends next anyway
        pass

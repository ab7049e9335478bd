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
    worker:  watch_parent(child_end)

No torch, no GUI: the editor (which must not load torch) and sweep workers use it alike.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

POLL_SECONDS = 0.5      # also how often the getppid fallback looks
DEATH_EXIT_CODE = 3


class Lifeline:
    """The parent's side: a pipe whose write end stays here for the parent's lifetime."""

    def __init__(self, context=None):
        context = context or multiprocessing.get_context("spawn")
        self.child_end, self._parent_end = context.Pipe(duplex=False)

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


def watch_parent(child_end) -> threading.Thread:
    """In the worker: a daemon thread that ends this process (exit code DEATH_EXIT_CODE),
    whatever its other threads are doing, when the parent is gone."""
    parent_pid = os.getppid()

    def parent_gone() -> bool:
        try:
            if child_end.poll(POLL_SECONDS):
                child_end.recv()        # the parent never sends: this raises EOFError
        except (EOFError, OSError):
            return True
        return os.getppid() != parent_pid

    def watch() -> None:
        while not parent_gone():
            pass
        os._exit(DEATH_EXIT_CODE)

    thread = threading.Thread(target=watch, name="clipig-nodes-lifeline", daemon=True)
    thread.start()
    return thread

"""Training one sweep job in this process, with the CLIP model loaded once and reused.

Used by the local runner and, inside each Ray worker process, by the Ray runner: a worker
keeps its `JobTrainer` (and so its CLIP model) between the tasks it runs.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..graph.model import Graph


@dataclass
class JobOptions:
    """How every job of a sweep runs (what `run` takes as options)."""

    device: str | None = None
    model: str | None = None
    epochs: int | None = None
    precision: str = "fp32"
    base_dir: str | None = None        # folder that relative file names in the graph start from

    def salt(self) -> str:
        """The settings outside the graph that change an image (part of each job's key)."""
        return f"model={self.model or ''};epochs={self.epochs if self.epochs is not None else ''};" \
               f"precision={self.precision}"


@dataclass
class JobResult:
    key: str
    image: object | None               # PIL image (8 bit RGB); None when the job failed
    seed: int | None = None
    epochs: int = 0
    runtime: float = 0.0
    loss: float | None = None
    stats: list = field(default_factory=list)
    stopped: bool = False              # Ctrl-C / stop(): not finished, not to be recorded done
    error: str | None = None
    worker: str = ""                   # host:pid that trained it


class JobTrainer:
    """Trains jobs one after another; CLIP loads on the first job and stays loaded."""

    def __init__(self, options: JobOptions):
        self.options = options
        self._clips: dict[tuple, object] = {}

    def run(self, key: str, graph: Graph, on_epoch: Callable[[int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> JobResult:
        import os
        import socket

        from ..engine import EngineError, Run, RunOptions
        from ..problems import ProblemsError

        started = time.monotonic()
        worker = f"{socket.gethostname()}:{os.getpid()}"
        options = RunOptions(device=self.options.device, model=self.options.model,
                             epochs=self.options.epochs, precision=self.options.precision,
                             base_dir=Path(self.options.base_dir) if self.options.base_dir else None)
        model_key = (self.options.model or _train_param(graph, "model"),
                     self.options.device or _train_param(graph, "device"))
        try:
            run = Run(graph, options, save=False, clip=self._clips.get(model_key))
            self._clips[model_key] = run.trainer.clip
            final = None
            for event in run.events():
                if event.kind in ("done", "stopped"):
                    final = event
                    break
                if on_epoch is not None:
                    on_epoch(event.epoch, event.epochs)
                if should_stop is not None and should_stop():
                    run.stop()
            result = run.result
        except (EngineError, ProblemsError, OSError) as exc:
            message = str(exc).splitlines()[0] if not isinstance(exc, ProblemsError) else \
                "; ".join(str(p) for p in exc.problems)
            return JobResult(key, None, error=message, runtime=time.monotonic() - started,
                             worker=worker)
        return JobResult(key, result.image, result.seed, result.epochs,
                         time.monotonic() - started, final.loss if final else None,
                         [dataclasses.asdict(s) for s in result.stats], result.stopped,
                         worker=worker)


def _train_param(graph: Graph, name: str):
    train = next((n for n in graph if n.type == "train"), None)
    return None if train is None else train.params.get(name)

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
        self.fitted: int | None = None      # the largest batch that fitted in device memory

    def _options(self):
        from ..engine import RunOptions
        return RunOptions(device=self.options.device, model=self.options.model,
                          epochs=self.options.epochs, precision=self.options.precision,
                          base_dir=Path(self.options.base_dir) if self.options.base_dir else None)

    def _make_run(self, graph: Graph):
        """A Run (compiled, with its Trainer) that uses the CLIP model already loaded."""
        from ..engine import Run

        model_key = (self.options.model or _train_param(graph, "model"),
                     self.options.device or _train_param(graph, "device"))
        run = Run(graph, self._options(), save=False, clip=self._clips.get(model_key))
        self._clips[model_key] = run.trainer.clip
        return run

    def run(self, key: str, graph: Graph, on_epoch: Callable[[int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> JobResult:
        started = time.monotonic()
        try:
            run = self._make_run(graph)
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
        except _user_errors() as exc:
            return JobResult(key, None, error=_message(exc), runtime=time.monotonic() - started,
                             worker=_worker())
        return JobResult(key, result.image, result.seed, result.epochs,
                         time.monotonic() - started, final.loss if final else None,
                         [dataclasses.asdict(s) for s in result.stats], result.stopped,
                         worker=_worker())

    def run_batch(self, keys: list[str], graphs: list[Graph],
                  on_epoch: Callable[[int, int, int], None] | None = None) -> list[JobResult]:
        """Train jobs together (see sweep.batched); the same images as one by one. A job whose
        graph fails to build fails alone; an error during the batched training fails them all."""
        from ..engine.images import to_pil
        from .batched import train_batch

        started = time.monotonic()
        results: dict[int, JobResult] = {}
        runs = {}
        for i, (key, graph) in enumerate(zip(keys, graphs)):
            try:
                runs[i] = self._make_run(graph)
            except _user_errors() as exc:
                results[i] = JobResult(key, None, error=_message(exc), worker=_worker())
        order = list(runs)
        trainers = [runs[i].trainer for i in order]
        try:
            self.fitted = train_batch(trainers, None if on_epoch is None else
                                      (lambda pos, epoch, epochs: on_epoch(order[pos], epoch, epochs)))
        except _user_errors() as exc:
            for i in order:
                results[i] = JobResult(keys[i], None, error=_message(exc), worker=_worker())
            order = []
        elapsed = time.monotonic() - started
        for i in order:
            t = runs[i].trainer
            summary = t.stats.loss_summary()
            results[i] = JobResult(keys[i], to_pil(t.image().cpu()), t.seed, t.epoch - t.start_epoch,
                                   elapsed / max(1, len(order)), summary[0] if summary else None,
                                   [dataclasses.asdict(s) for s in t.stats.summary()], False,
                                   worker=_worker())
        return [results[i] for i in range(len(keys))]


def _user_errors():
    """The errors a job reports instead of raising (looked up late: the engine imports torch)."""
    from ..engine import EngineError
    from ..problems import ProblemsError
    return (EngineError, ProblemsError, OSError)


def _message(exc) -> str:
    from ..problems import ProblemsError
    if isinstance(exc, ProblemsError):
        return "; ".join(str(p) for p in exc.problems)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _worker() -> str:
    import os
    import socket
    return f"{socket.gethostname()}:{os.getpid()}"


def _train_param(graph: Graph, name: str):
    train = next((n for n in graph if n.type == "train"), None)
    return None if train is None else train.params.get(name)

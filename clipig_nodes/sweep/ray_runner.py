"""Sweep jobs as Ray tasks: one task per job, results streamed back to the driver.

Each task trains one job in a Ray worker process and returns the image and statistics; the
driver (clipig_nodes.sweep.api) alone writes OUT. A worker process keeps its CLIP model
between tasks. A task whose worker dies (killed, out of memory, node lost) is retried by
Ray on another worker (`max_retries`); one that raises fails its job, and the others go on.
Ray is the optional extra `cluster`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator

from .grid import Job
from .jobs import JobOptions, JobResult, JobTrainer

INSTALL_HINT = 'pip install -e ".[cluster]"'
TASK_NAME = "clipig_sweep_job"       # what `ps` shows for a worker training a job: ray::clipig_sweep_job
MAX_RETRIES = 3


class RayMissing(RuntimeError):
    """--ray without Ray installed."""


def _ray():
    try:
        import ray
    except ImportError:
        raise RayMissing(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


_trainers: dict[str, JobTrainer] = {}      # in a worker process: kept between tasks (CLIP stays loaded)


def _train(keys: list[str], graph_texts: list[str], options: JobOptions) -> list[JobResult]:
    """The task body, run in a Ray worker: one job, or a batch trained together."""
    from ..graph.fileformat import loads_graph

    trainer = _trainers.get(repr(options))
    if trainer is None:
        trainer = _trainers[repr(options)] = JobTrainer(options)
    graphs = [loads_graph(text) for text in graph_texts]
    if len(keys) == 1:
        return [trainer.run(keys[0], graphs[0])]
    return trainer.run_batch(keys, graphs)


class RayRunner:
    def __init__(self, options: JobOptions, address: str, num_cpus: float = 1,
                 num_gpus: float | None = None, max_retries: int = MAX_RETRIES, batch: int = 1):
        self.ray = _ray()                   # fail before anything runs when Ray is missing
        self.options = options
        self.address = address
        self.num_cpus = num_cpus
        device = (options.device or "").lower()
        self.num_gpus = num_gpus if num_gpus is not None else (1 if device.startswith("cuda") else 0)
        self.max_retries = max_retries
        self.batch = max(1, batch)              # jobs per task, trained together (sweep.batched)

    def _connect(self) -> bool:
        """Connect (or start a local Ray); True when this call started Ray and must stop it."""
        ray = self.ray
        if ray.is_initialized():
            return False
        package_root = str(Path(__file__).resolve().parents[2])
        local_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(
            p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}}
        if self.address == "local":
            ray.init(runtime_env=local_env, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
            return True
        if self.address == "auto":
            try:
                ray.init(address="auto", log_to_driver=False, logging_level=logging.ERROR)
                return True
            except ConnectionError:
                ray.init(runtime_env=local_env, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
                return True
        ray.init(address=self.address, log_to_driver=False, logging_level=logging.ERROR)
        return True

    def results(self, jobs: list[Job], progress) -> Iterator[JobResult]:
        if not jobs:
            return
        from ..graph.fileformat import dumps_graph

        ray = self.ray
        started = self._connect()
        try:
            task = ray.remote(_train).options(name=TASK_NAME, num_cpus=self.num_cpus,
                                              num_gpus=self.num_gpus, max_retries=self.max_retries,
                                              retry_exceptions=False)
            options = ray.put(self.options)
            chunks = [jobs[i:i + self.batch] for i in range(0, len(jobs), self.batch)]
            pending = {task.remote([j.key for j in chunk], [dumps_graph(j.graph) for j in chunk],
                                   options): chunk for chunk in chunks}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        chunk = pending.pop(ref)
                        try:
                            results = ray.get(ref)
                        except ray.exceptions.RayError as exc:   # retries used up, or a bug
                            error = f"Ray task failed: {str(exc).splitlines()[0]}"
                            results = [JobResult(job.key, None, error=error) for job in chunk]
                        yield from results
            finally:
                for ref in pending:                   # Ctrl-C or an error: leave no work behind
                    ray.cancel(ref, force=True)
        finally:
            if started:
                ray.shutdown()

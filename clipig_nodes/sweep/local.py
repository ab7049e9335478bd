"""Running a sweep's jobs in this process with one CLIP model for all: one after another, or
in batches trained together (see sweep.batched) when `batch` is more than 1."""

from __future__ import annotations

from typing import Iterator

from .grid import Job
from .jobs import JobOptions, JobResult, JobTrainer

MAX_AUTO_BATCH = 64


class LocalRunner:
    def __init__(self, options: JobOptions, batch=None):
        self.trainer = JobTrainer(options)
        self.batch = batch

    def results(self, jobs: list[Job], progress) -> Iterator[JobResult]:
        size = self._batch_size(len(jobs))
        if size <= 1:
            yield from self._one_by_one(jobs, progress)
            return
        for group in _groups(jobs):
            while group:
                chunk, group = group[:size], group[size:]
                yield from self.trainer.run_batch(
                    [j.key for j in chunk], [j.graph for j in chunk],
                    lambda i, epoch, epochs, chunk=chunk: progress.epoch(chunk[i], epoch, epochs))
                fitted = self.trainer.fitted
                if fitted and fitted < len(chunk):   # out of memory halved it: start there next time
                    size = fitted

    def _one_by_one(self, jobs, progress):
        for job in jobs:
            result = self.trainer.run(job.key, job.graph,
                                      on_epoch=lambda epoch, epochs, job=job: progress.epoch(job, epoch, epochs))
            yield result
            if result.stopped:
                return

    def _batch_size(self, count: int) -> int:
        """`batch`: a number, or "auto": as many as fit (up to MAX_AUTO_BATCH) on CUDA, where out
        of memory halves a batch; one at a time on the CPU, where batching gains little."""
        if self.batch in (None, "", 1, "1"):
            return 1
        if str(self.batch) == "auto":
            import torch
            device = (self.trainer.options.device or "auto").lower()
            cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
            return min(count, MAX_AUTO_BATCH) if cuda else 1
        return max(1, int(self.batch))


def _groups(jobs: list[Job]) -> list[list[Job]]:
    """Jobs that can train in lockstep: the same number of epochs (other differences, prompts,
    seeds, sizes, schedules, even node types, stay per job)."""
    groups: dict = {}
    for job in jobs:
        train = next((n for n in job.graph if n.type == "train"), None)
        key = None if train is None else (train.params.get("epochs"), train.params.get("start_epoch"),
                                           train.params.get("model"), train.params.get("device"))
        groups.setdefault(repr(key), []).append(job)
    return list(groups.values())

"""Running a sweep's jobs in this process, one after another, with one CLIP model for all."""

from __future__ import annotations

from typing import Iterator

from .grid import Job
from .jobs import JobOptions, JobResult, JobTrainer


class LocalRunner:
    def __init__(self, options: JobOptions, batch=None):
        self.trainer = JobTrainer(options)
        self.batch = batch

    def results(self, jobs: list[Job], progress) -> Iterator[JobResult]:
        for job in jobs:
            result = self.trainer.run(job.key, job.graph,
                                      on_epoch=lambda epoch, epochs, job=job: progress.epoch(job, epoch, epochs))
            yield result
            if result.stopped:
                return

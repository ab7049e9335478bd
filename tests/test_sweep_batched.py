"""Jobs trained together in one batch give the images they give alone (CPU, tiny CLIP)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.sweep import sweep
from clipig_nodes.sweep.batched import train_batch
from clipig_nodes.sweep.grid import expand
from clipig_nodes.sweep.jobs import JobOptions, JobTrainer

from .test_sweep import ROOT, small_graph


def strawberry_jobs():
    """The strawberries template (random shift, rotate, scale, crop, blur constraint, a
    learning-rate expression) with different prompts, seeds and sizes."""
    graph = load_graph(ROOT / "graphs" / "strawberries.graph.yaml")
    jobs = expand(graph, {"prompt": ["a cat", "a dog"], "seed": [1, 2], "size": ["40 32"]})
    jobs += expand(graph, {"prompt": ["a cow"], "seed": [3], "size": ["24 24"]})
    return jobs


def train_alone(trainer_factory, job):
    run = trainer_factory._make_run(job.graph)
    while not run.trainer.done:
        run.trainer.step()
    return run.trainer.image()


def test_a_job_in_a_batch_gives_the_image_it_gives_alone(tiny_clip):
    jobs = strawberry_jobs()
    factory = JobTrainer(JobOptions(device="cpu", model=tiny_clip, epochs=5))
    alone = [train_alone(factory, job) for job in jobs]
    trainers = [factory._make_run(job.graph).trainer for job in jobs]
    seen = []
    train_batch(trainers, lambda i, epoch, epochs: seen.append((i, epoch)))
    assert seen[:5] == [(i, 1) for i in range(5)] and len(seen) == 25
    for image, trainer in zip(alone, trainers):
        assert image.shape == trainer.image().shape
        assert (image - trainer.image()).abs().max().item() <= 1e-5
    assert not torch.equal(trainers[0].image(), trainers[1].image())     # seeds differ


def test_out_of_memory_halves_the_batch_and_changes_no_image(tiny_clip, monkeypatch):
    """A device that holds the views of at most 2 jobs: the batch of 5 goes on in smaller
    batches, and every image is still the one the job gives alone."""
    jobs = strawberry_jobs()
    factory = JobTrainer(JobOptions(device="cpu", model=tiny_clip, epochs=3))
    alone = [train_alone(factory, job) for job in jobs]
    trainers = [factory._make_run(job.graph).trainer for job in jobs]
    clip = trainers[0].clip
    real = type(clip).encode_views
    views_per_job = 5                      # the template's batch_size
    tried, served = [], []

    def limited(self, views):
        tried.append(views.shape[0])
        if views.shape[0] > 2 * views_per_job:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        served.append(views.shape[0])
        return real(self, views)

    monkeypatch.setattr(type(clip), "encode_views", limited)
    assert train_batch(trainers) == 2                 # the largest batch that fitted
    assert tried[0] == 5 * views_per_job and max(served) == 2 * views_per_job
    assert sorted(set(tried) - set(served)) == [3 * views_per_job, 5 * views_per_job]    # 5 -> 2+3 -> 2+1+2
    for image, trainer in zip(alone, trainers):
        assert trainer.done
        assert (image - trainer.image()).abs().max().item() <= 1e-5


def test_sweep_in_batches_writes_the_same_images(tiny_clip, tmp_path):
    grid = {"prompt": ["a cat", "a dog"], "seed": [1, 2]}
    args = dict(epochs=3, device="cpu", model=tiny_clip)
    one = sweep(small_graph(), tmp_path / "one", grid, batch=1, **args)
    batched = sweep(small_graph(), tmp_path / "batched", grid, batch=3, **args)
    assert [j.status for j in batched.jobs] == ["done"] * 4
    for a, b in zip(one.jobs, batched.jobs):
        assert a.name == b.name
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
